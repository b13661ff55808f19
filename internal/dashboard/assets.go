package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static templates
var files embed.FS

// asset is one static file, served at a URL that contains its checksum so
// that it can be cached forever.
type asset struct {
	url         string
	contentType string
	body        []byte
}

// assets maps source names ("app.css") to assets and checksum names
// ("app.1a2b3c4d5e.css") back to them.
type assets struct {
	byName map[string]*asset
	byFile map[string]*asset
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byFile: map[string]*asset{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		file := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		ct := mime.TypeByExtension(ext)
		if ext == ".js" {
			ct = "text/javascript; charset=utf-8"
		}
		if ct == "" {
			return fmt.Errorf("dashboard: no content type for static file %s", name)
		}
		as := &asset{url: "/static/" + file, contentType: ct, body: body}
		a.byName[name], a.byFile[file] = as, as
		return nil
	})
	return a, err
}

// url returns the checksum URL of a static file; a missing name is a
// template bug and panics at start-up (templates are executed in tests).
func (a *assets) url(name string) (string, error) {
	as, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("dashboard: no static file %q", name)
	}
	return as.url, nil
}

// serveStatic is GET /static/{file}.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	as, ok := h.assets.byFile[r.PathValue("file")]
	if !ok {
		h.errorPage(w, r, http.StatusNotFound, "Not found", "There is no such file.")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", as.contentType)
	// Behind Basic auth the files are private to the browser's cache.
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")
	_, _ = w.Write(as.body)
}
