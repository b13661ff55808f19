// Package web embeds the files the server sends to browsers outside the
// dashboard: the browser SDK (sdk/nango.js), a plain ES module with no build
// step, served publicly at /sdk/nango.js and usable as a file copied into an
// app.
//
// It imports only the standard library.
package web

import _ "embed"

// SDK is the browser SDK, web/sdk/nango.js.
//
//go:embed sdk/nango.js
var SDK []byte
