package provider

import "testing"

// BenchmarkLoadBuiltin measures what a server start pays once: parsing and
// resolving the embedded catalog (Load without an extra file, uncached).
func BenchmarkLoadBuiltin(b *testing.B) {
	for b.Loop() {
		entries, err := parseBuiltin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := build(entries); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadBuiltinSerialValidated parses on one core and validates
// every template (what Parse does; the package tests pay it).
func BenchmarkLoadBuiltinSerialValidated(b *testing.B) {
	for b.Loop() {
		entries, err := parseFile(BuiltinFile, builtinYAML)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := build(entries); err != nil {
			b.Fatal(err)
		}
	}
}
