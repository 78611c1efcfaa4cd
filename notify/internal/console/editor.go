package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// TemplateFields are the editable fields of a notifyTemplates record.
var TemplateFields = []string{"subject", "html", "text", "telegram", "pushTitle", "pushBody", "pushUrl", "sms"}

// FieldProblem is what is wrong with one field of a draft, with the line
// the template parser or executor named (0 when it named none).
type FieldProblem struct {
	Message string `json:"message"`
	Line    int    `json:"line"`
}

// Draft is the answer to a draft: the problems by field, or the preview of
// every channel.
type Draft struct {
	Errors       map[string]FieldProblem `json:"errors"`
	Preview      any                     `json:"preview"`
	PreviewError string                  `json:"previewError,omitempty"`
}

// templateLine finds the line in Go template errors such as
// `template: html:3: unexpected "}" in operand` or
// `template: subject:1:12: executing "subject" at <.Nope>: ...`.
var templateLine = regexp.MustCompile(`template: [A-Za-z]+:(\d+)`)

// handleDraft checks and renders an unsaved version of a template: the
// stored record with the fields in the body put over it. Nothing is saved;
// the check is the one saving runs, so what it refuses here, saving
// refuses too, on the same field and line.
func (c *console) handleDraft(e *core.RequestEvent) error {
	tpl, err := e.App.FindRecordById(TemplatesCollection, e.Request.PathValue("id"))
	if err != nil {
		return e.NotFoundError("Template not found.", err)
	}
	var body map[string]any
	if err := json.NewDecoder(http.MaxBytesReader(e.Response, e.Request.Body, 2<<20)).Decode(&body); err != nil {
		return e.BadRequestError(`The body must be a JSON object of template fields (at most 2 MB), e.g. {"subject": "...", "record": "<optional record id>"}.`, err)
	}
	for _, f := range TemplateFields {
		if v, ok := body[f]; ok {
			s, isString := v.(string)
			if !isString {
				return e.BadRequestError(fmt.Sprintf("Field %q must be a string.", f), nil)
			}
			tpl.Set(f, s)
		}
	}
	recordID, _ := body["record"].(string)

	out := Draft{Errors: map[string]FieldProblem{}}
	if err := c.cfg.Validate(e.App, tpl); err != nil {
		var ve validation.Errors
		if !errors.As(err, &ve) {
			return e.InternalServerError("", fmt.Errorf("draft: %w", err))
		}
		for field, fe := range ve {
			p := FieldProblem{Message: fe.Error()}
			if m := templateLine.FindStringSubmatch(p.Message); m != nil {
				p.Line, _ = strconv.Atoi(m[1])
			}
			out.Errors[field] = p
		}
		return e.JSON(http.StatusOK, out)
	}
	preview, err := c.cfg.Preview(e, tpl, recordID)
	if err != nil {
		var apiErr *router.ApiError
		if errors.As(err, &apiErr) && apiErr.Status < 500 {
			out.PreviewError = apiErr.Message
			return e.JSON(http.StatusOK, out)
		}
		return e.InternalServerError("", fmt.Errorf("draft: %w", err))
	}
	out.Preview = preview
	return e.JSON(http.StatusOK, out)
}

// SimulateRequest is a write to simulate: the record, the event, and for
// an update the changed fields (the record's other fields stay as stored).
type SimulateRequest struct {
	Collection string         `json:"collection"`
	Record     string         `json:"record"`
	Event      string         `json:"event"`
	Changes    map[string]any `json:"changes"`
}

// Simulation is what the write would do, rule by rule.
type Simulation struct {
	Collection string    `json:"collection"`
	Record     string    `json:"record"`
	Event      string    `json:"event"`
	Rules      []Verdict `json:"rules"`
}

// Verdict is one rule of the record's collection: whether it fires, why
// not, and if it does, to whom on which channels.
type Verdict struct {
	Rule       string      `json:"rule"`
	Name       string      `json:"name"`
	Template   string      `json:"template"`
	Event      string      `json:"event"`
	Fires      bool        `json:"fires"`
	Reason     string      `json:"reason,omitempty"`
	Note       string      `json:"note,omitempty"`
	Recipients []Recipient `json:"recipients"`
}

// Recipient is one user a firing rule would write to.
type Recipient struct {
	User     string           `json:"user"`
	Label    string           `json:"label"`
	Channels []ChannelVerdict `json:"channels"`
}

// ChannelVerdict says whether a message would be queued on a channel and,
// if it would not or would be skipped, why.
type ChannelVerdict struct {
	Channel string `json:"channel"`
	Queued  bool   `json:"queued"`
	Reason  string `json:"reason,omitempty"`
}

func (c *console) handleSimulate(e *core.RequestEvent) error {
	var req SimulateRequest
	if err := e.BindBody(&req); err != nil {
		return e.BadRequestError(`The body must be JSON {"collection": "orders", "record": "<id>", "event": "create|update|delete", "changes": {"status": "shipped"}}.`, err)
	}
	switch req.Event {
	case "create", "update", "delete":
	default:
		return e.BadRequestError(fmt.Sprintf("Unknown event %q; use create, update or delete.", req.Event), nil)
	}
	if req.Event != "update" && len(req.Changes) > 0 {
		return e.BadRequestError("\"changes\" is only for the update event.", nil)
	}
	sim, err := c.cfg.Simulate(e.App, req)
	if err != nil {
		var apiErr *router.ApiError
		if errors.As(err, &apiErr) {
			return apiErr
		}
		return e.InternalServerError("", fmt.Errorf("simulate: %w", err))
	}
	return e.JSON(http.StatusOK, sim)
}
