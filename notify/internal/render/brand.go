package render

import (
	"net/url"
	"strings"
	"sync"

	"github.com/pocketbase/pocketbase/core"
)

// BrandCollection is the small settings collection an owner brands the
// email layout with in the dashboard: the logo (PocketBase's settings have
// no file), the shop's postal address, contacts and support links. The
// accent colour and the shop's name come from PocketBase's own Application
// settings. Its first record is the shop's; superusers only.
const BrandCollection = "notifyBrand"

// logoMaxSize bounds the logo upload: a mail logo is a few kilobytes, and
// every email links it.
const logoMaxSize = 1 << 20

// NewBrandCollection is the notifyBrand collection's schema.
func NewBrandCollection() *core.Collection {
	c := core.NewBaseCollection(BrandCollection)
	// Superusers only: nil rules. The logo stays public by its URL, as
	// every non-protected PocketBase file is, so a mail client can load it.
	c.Fields.Add(
		&core.FileField{Name: "logo", MaxSelect: 1, MaxSize: logoMaxSize,
			MimeTypes: []string{"image/png", "image/jpeg", "image/gif", "image/webp"},
			Help:      "Shown at the top of every email, 40 px high (upload at 80 px or more for sharp screens); PNG, JPEG, GIF or WebP (mail clients do not show SVG). Without one the shop's name is shown"},
		&core.TextField{Name: "address", Max: 500, Help: "Postal address in every email's footer"},
		&core.TextField{Name: "phone", Max: 50, Help: "Contact phone shown in every email"},
		&core.EmailField{Name: "email", Help: "Contact address shown in every email; default: the sender address of the Mail settings"},
		&core.URLField{Name: "supportUrl", Help: "Help or FAQ page, linked in every email"},
		&core.URLField{Name: "chatUrl", Help: "A chat with the shop (e.g. https://t.me/yourshop), linked in every email"},
		&core.JSONField{Name: "translations", MaxSize: 1 << 14,
			Help: `The shop's name and address per language, e.g. {"ru": {"name": "Лист и Зерно", "address": "Москва, …"}}; a language without one uses the Application name and the address above`},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	return c
}

// BrandCache keeps the brand record between messages. Call Reset after a
// change of it.
type BrandCache struct {
	mu     sync.RWMutex
	loaded bool
	rec    *core.Record // nil: no record (or no collection)
	gen    uint64       // bumped by Reset
}

// Reset forgets the cached record.
func (c *BrandCache) Reset() {
	c.mu.Lock()
	c.loaded, c.rec = false, nil
	c.gen++
	c.mu.Unlock()
}

// Apply fills s from the brand record: its non-empty fields win over s's,
// then the name and address it gives for locale ("" for none), and the
// logo becomes an absolute URL on s.URL (a relative one would not load in
// a mail client, so without s.URL there is no logo). A record that cannot
// be read leaves s as it is: the email goes out in the plain layout rather
// than not at all, and the next message tries again.
func (c *BrandCache) Apply(app core.App, s Shop, locale string) Shop {
	c.mu.RLock()
	rec, loaded, gen := c.rec, c.loaded, c.gen
	c.mu.RUnlock()
	if !loaded {
		recs, err := app.FindRecordsByFilter(BrandCollection, "", "created", 1, 0)
		if err != nil {
			if _, missing := app.FindCachedCollectionByNameOrId(BrandCollection); missing != nil {
				c.store(nil, gen) // an app without the collection: nothing to brand with
			}
			return s
		}
		if len(recs) > 0 {
			rec = recs[0]
		}
		c.store(rec, gen)
	}
	if rec == nil {
		return s
	}
	set := func(dst *string, field string) {
		if v := strings.TrimSpace(rec.GetString(field)); v != "" {
			*dst = v
		}
	}
	set(&s.Address, "address")
	set(&s.Phone, "phone")
	set(&s.Email, "email")
	set(&s.SupportURL, "supportUrl")
	set(&s.ChatURL, "chatUrl")
	if locale != "" {
		var byLocale map[string]struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		}
		if err := rec.UnmarshalJSONField("translations", &byLocale); err == nil {
			if tr, ok := byLocale[locale]; ok {
				if v := strings.TrimSpace(tr.Name); v != "" {
					s.Name = v
				}
				if v := strings.TrimSpace(tr.Address); v != "" {
					s.Address = v
				}
			}
		}
	}
	if logo := rec.GetString("logo"); logo != "" && s.URL != "" {
		s.Logo = s.URL + "/api/files/" + url.PathEscape(rec.Collection().Name) + "/" + url.PathEscape(rec.Id) + "/" + url.PathEscape(logo)
	}
	return s
}

// store keeps rec unless a Reset came after the read: an edit may have
// committed since, and the next message should read it.
func (c *BrandCache) store(rec *core.Record, gen uint64) {
	c.mu.Lock()
	if c.gen == gen {
		c.loaded, c.rec = true, rec
	}
	c.mu.Unlock()
}
