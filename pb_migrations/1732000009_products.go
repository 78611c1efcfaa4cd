package pb_migrations

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ProductsCollection is the shop's catalogue: the storefront lists it and
// the order hooks take every price and name from it.
const ProductsCollection = "products"

// SeedProduct is one product of the catalogue a new shop starts with.
type SeedProduct struct {
	Slug, Name, Kind, Description string
	Price                         float64
	Stock                         int
	// En is the English name, kind and description.
	En map[string]string
}

// SeedCatalogue is the catalogue a new shop starts with (it used to live in
// the storefront's JavaScript). Names are in Russian, the shop's default
// language, with English translations.
var SeedCatalogue = []SeedProduct{
	{Slug: "sencha", Price: 590, Stock: 40, Name: "Сенча Киото", Kind: "Зелёный чай · 100 г",
		Description: "Японский пропаренный зелёный чай: свежий, травянистый, со сладким послевкусием.",
		En: map[string]string{"name": "Sencha Kyoto", "kind": "Green tea · 100 g",
			"description": "Steamed Japanese green tea: fresh, grassy, with a sweet finish."}},
	{Slug: "assam", Price: 450, Stock: 60, Name: "Ассам к завтраку", Kind: "Чёрный чай · 100 г",
		Description: "Крепкий, солодовый, хорош с молоком. Утро в одной чашке.",
		En: map[string]string{"name": "Assam Breakfast", "kind": "Black tea · 100 g",
			"description": "Strong and malty, made for milk. A morning in a cup."}},
	{Slug: "oolong", Price: 890, Stock: 25, Name: "Да Хун Пао", Kind: "Улун · 50 г",
		Description: "Утёсный улун с гор Уишань: косточковые фрукты, мёд и тёплый хлеб.",
		En: map[string]string{"name": "Da Hong Pao", "kind": "Oolong · 50 g",
			"description": "Roasted rock oolong from Wuyi: stone fruit, honey and warm toast."}},
	{Slug: "chamomile", Price: 390, Stock: 80, Name: "Ромашка и мята", Kind: "Травяной сбор · 60 г",
		Description: "Цветки ромашки и садовая мята. Без кофеина, для спокойного вечера.",
		En: map[string]string{"name": "Chamomile & Mint", "kind": "Herbal · 60 g",
			"description": "Whole chamomile flowers with garden mint. No caffeine, calm evenings."}},
	{Slug: "ethiopia", Price: 1190, Stock: 30, Name: "Эфиопия Иргачеффе", Kind: "Кофе в зёрнах · 250 г",
		Description: "Светлая обжарка под фильтр: жасмин, бергамот и лимон.",
		En: map[string]string{"name": "Ethiopia Yirgacheffe", "kind": "Coffee beans · 250 g",
			"description": "Light roast for filter: jasmine, bergamot and lemon."}},
	{Slug: "espresso", Price: 990, Stock: 50, Name: "Эспрессо дома", Kind: "Кофе в зёрнах · 250 г",
		Description: "Бразилия и Колумбия: шоколад, орехи, плотная сладкая крема.",
		En: map[string]string{"name": "House Espresso", "kind": "Coffee beans · 250 g",
			"description": "Brazil and Colombia: chocolate, nuts, a long sweet crema."}},
}

// The demo shop's name and contact address, set in the dashboard's
// Application settings where PocketBase's placeholders still stand: the
// storefront (GET /api/shop/info) and every message show them.
const (
	SeedShopName  = "Leaf & Bean"
	SeedShopEmail = "hello@leafbean.example"
)

func nameTheShop(app core.App) error {
	s := app.Settings()
	changed := false
	if s.Meta.AppName == "Acme" || s.Meta.AppName == "" {
		s.Meta.AppName, changed = SeedShopName, true
	}
	if s.Meta.SenderAddress == "support@example.com" || s.Meta.SenderAddress == "" {
		s.Meta.SenderAddress, changed = SeedShopEmail, true
	}
	if s.Meta.SenderName == "Support" {
		s.Meta.SenderName, changed = SeedShopName, true
	}
	if !changed {
		return nil
	}
	if err := app.Save(s); err != nil {
		return fmt.Errorf("naming the shop: %w", err)
	}
	return nil
}

// Products: the catalogue as a collection (anyone lists and views active
// products; only superusers write), seeded with SeedCatalogue on a shop
// that has no products collection yet.
func init() {
	m.Register(func(app core.App) error {
		if err := nameTheShop(app); err != nil {
			return err
		}
		if _, err := app.FindCollectionByNameOrId(ProductsCollection); err == nil {
			return nil // the owner's own catalogue: leave it
		}
		c := core.NewBaseCollection(ProductsCollection)
		c.ListRule = types.Pointer("active = true")
		c.ViewRule = types.Pointer("active = true")
		zero := types.Pointer(0.0)
		c.Fields.Add(
			&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
			&core.NumberField{Name: "price", Min: zero, Max: types.Pointer(1e9)},
			&core.TextField{Name: "currency", Max: 3, Pattern: `^[A-Z]{3}$`},
			// Units left: an order takes its quantities off, a cancelled
			// order puts them back.
			&core.NumberField{Name: "stock", OnlyInt: true, Min: zero, Max: types.Pointer(1e9)},
			&core.BoolField{Name: "active"},
			&core.FileField{Name: "image", MaxSelect: 1, MaxSize: 5 << 20,
				MimeTypes: []string{"image/jpeg", "image/png", "image/webp", "image/avif", "image/gif"},
				Thumbs:    []string{"640x400"}},
			// A short stable name for links, tests and the storefront's
			// drawings of the seeded products (empty for most products).
			&core.TextField{Name: "slug", Max: 64, Pattern: `^[a-z0-9-]*$`},
			&core.TextField{Name: "kind", Max: 200},
			&core.TextField{Name: "description", Max: 2000},
			// {"en": {"name": …, "kind": …, "description": …}}: the texts in
			// other languages; `name` and the rest are the shop's default one.
			&core.JSONField{Name: "translations", MaxSize: 1 << 14},
			&core.AutodateField{Name: "created", OnCreate: true},
			&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		)
		c.AddIndex("idx_products_slug", true, "`slug`", "`slug` != ''")
		c.AddIndex("idx_products_active", false, "`active`, `created`", "")
		if err := app.Save(c); err != nil {
			return fmt.Errorf("products: %w", err)
		}
		for _, p := range SeedCatalogue {
			r := core.NewRecord(c)
			r.Set("slug", p.Slug)
			r.Set("name", p.Name)
			r.Set("kind", p.Kind)
			r.Set("description", p.Description)
			r.Set("price", p.Price)
			r.Set("currency", "RUB")
			r.Set("stock", p.Stock)
			r.Set("active", true)
			r.Set("translations", map[string]any{"en": p.En})
			if err := app.Save(r); err != nil {
				return fmt.Errorf("products: seeding %s: %w", p.Slug, err)
			}
		}
		return nil
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId(ProductsCollection)
		if err != nil {
			return nil
		}
		return app.Delete(c)
	})
}
