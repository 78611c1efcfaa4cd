package notify

import (
	"github.com/pbnotify/pbnotify/notify/internal/render"
	"net/http"

	"github.com/pocketbase/pocketbase/core"
)

// previewHTML answers the preview route's ?format=html: the email exactly
// as a customer receives it (the layout with its CSS inlined), as a page
// a browser opens or screenshots. The page may run nothing: the CSP
// forbids scripts, forms and frames, and loads only images (the logo) and
// the email's own inline styles.
func previewHTML(e *core.RequestEvent, r *render.Rendered) error {
	if r.HTML == "" {
		return e.BadRequestError("The template has no email HTML to show; ask for ?format=json or fill its html field.", nil)
	}
	h := e.Response.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	return e.HTML(http.StatusOK, r.HTML)
}
