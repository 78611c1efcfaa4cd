// Package templates holds the default message templates, embedded in the
// binary and seeded into the notifyTemplates collection on first start.
// After that the collection is the source of truth: admins edit templates
// in the dashboard, and these files are only the starting point.
//
// One file per event and language, <locale>/<key>.tmpl, split into
// sections by lines of the form "=== <field>", where field is one of the
// notifyTemplates fields: subject, preheader, html, text, telegram, pushTitle,
// pushBody, pushUrl, sms.
package templates

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

//go:embed */*.tmpl
var files embed.FS

// Template is one default template.
type Template struct {
	Key, Locale string
	// Fields by notifyTemplates field name.
	Fields map[string]string
}

var sections = map[string]bool{
	"subject": true, "preheader": true, "html": true, "text": true, "telegram": true,
	"pushTitle": true, "pushBody": true, "pushUrl": true, "sms": true,
}

// Defaults returns every embedded template.
func Defaults() ([]Template, error) {
	var out []Template
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := Parse(path.Base(path.Dir(p)), strings.TrimSuffix(path.Base(p), ".tmpl"), string(data))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

// Parse reads the sectioned file format.
func Parse(locale, key, src string) (Template, error) {
	t := Template{Key: key, Locale: locale, Fields: map[string]string{}}
	var field string
	var body strings.Builder
	flush := func() {
		if field != "" {
			t.Fields[field] = strings.TrimSpace(body.String())
		}
		body.Reset()
	}
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if name, ok := strings.CutPrefix(text, "=== "); ok {
			name = strings.TrimSpace(name)
			if !sections[name] {
				return t, fmt.Errorf("line %d: unknown section %q", line, name)
			}
			if _, dup := t.Fields[name]; dup {
				return t, fmt.Errorf("line %d: section %q appears twice", line, name)
			}
			flush()
			field = name
			continue
		}
		if field == "" && strings.TrimSpace(text) != "" {
			return t, fmt.Errorf("line %d: text before the first \"=== <field>\" line", line)
		}
		body.WriteString(text)
		body.WriteByte('\n')
	}
	flush()
	return t, sc.Err()
}
