module github.com/nango-go/nango

go 1.26.8
