package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/pbnotify/pbnotify/channels/telegram"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// TelegramLinksCollection binds users to Telegram chats. A user sees their
// own link (to show "connected"); only the bot writes it, so a chat id can
// never be set through the records API.
const TelegramLinksCollection = "notifyTelegramLinks"

// linkTokensTable keeps one-time link tokens, by hash only.
const linkTokensTable = "_notifyTelegramTokens"

const HookTelegram = "__notifyTelegram__"

func telegramLinksCollection(usersID string) *core.Collection {
	c := core.NewBaseCollection(TelegramLinksCollection)
	own := "@request.auth.id != '' && user = @request.auth.id"
	c.ListRule = &own
	c.ViewRule = &own
	c.DeleteRule = &own // unlinking from the storefront
	c.Fields.Add(
		&core.RelationField{Name: "user", Required: true, CollectionId: usersID, MaxSelect: 1, CascadeDelete: true},
		&core.NumberField{Name: "chatId", OnlyInt: true, Hidden: true},
		&core.BoolField{Name: "active"},
		&core.TextField{Name: "username", Max: 100},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	c.AddIndex("idx_notifyTelegramLinks_user", true, "`user`", "")
	c.AddIndex("idx_notifyTelegramLinks_chat", false, "`chatId`", "")
	return c
}

func ensureLinkTokensTable(app core.App) error {
	_, err := app.NonconcurrentDB().NewQuery(`CREATE TABLE IF NOT EXISTS {{` + linkTokensTable + `}} (
		[[hash]] TEXT PRIMARY KEY NOT NULL,
		[[user]] TEXT NOT NULL,
		[[expires]] TEXT NOT NULL,
		[[used]] BOOLEAN NOT NULL DEFAULT FALSE
	)`).Execute()
	return err
}

// setupTelegram creates the channel when a bot token is configured.
func (p *plugin) setupTelegram() error {
	if p.cfg.TelegramToken == "" {
		return nil
	}
	ch, err := telegram.New(telegram.Config{
		Token:       p.cfg.TelegramToken,
		APIURL:      p.cfg.TelegramAPIURL,
		HTTPClient:  p.cfg.TelegramHTTPClient,
		GlobalRate:  p.cfg.TelegramGlobalRate,
		PerChatRate: p.cfg.TelegramPerChatRate,
		Links:       telegramLinks{p.app},
		OnPollError: func(err error) { p.app.Logger().Warn("notify: telegram polling", "error", err) },
	})
	if err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	p.telegram = ch
	p.senders[ch.Name()] = ch
	p.addresses[ch.Name()] = p.telegramChat
	return nil
}

// telegramChat is the active chat id of user, or "" (the channel then
// skips the message: under mode "first", the next channel gets it).
func (p *plugin) telegramChat(user *core.Record) (string, error) {
	link, err := p.app.FindFirstRecordByFilter(TelegramLinksCollection, "user = {:u} && active = true", dbx.Params{"u": user.Id})
	if err != nil {
		return "", nil
	}
	return strconv.FormatInt(int64(link.GetInt("chatId")), 10), nil
}

func (p *plugin) bindTelegram() {
	p.app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookTelegram,
		Func: func(se *core.ServeEvent) error {
			if err := ensureLinkTokensTable(se.App); err != nil {
				return err
			}
			se.Router.POST("/api/notify/telegram/link", p.handleTelegramLink).Bind(apis.RequireAuth(p.cfg.UsersCollection))
			se.Router.POST("/api/notify/telegram/webhook", p.handleTelegramWebhook)
			if p.telegram != nil {
				p.startTelegramUpdates(se.App)
			}
			return se.Next()
		},
	})
	p.app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: HookTelegram,
		Func: func(e *core.TerminateEvent) error {
			if p.stopPolling != nil {
				p.stopPolling()
				<-p.pollingDone
				p.stopPolling = nil
			}
			return e.Next()
		},
	})
}

// startTelegramUpdates registers the webhook when a secret is configured
// and the shop has a public URL, or long-polls otherwise. Both run in the
// background: Telegram being unreachable must not stop the shop starting.
func (p *plugin) startTelegramUpdates(app core.App) {
	ctx, cancel := context.WithCancel(context.Background())
	p.stopPolling = cancel
	p.pollingDone = make(chan struct{})
	go func() {
		defer close(p.pollingDone)
		if p.cfg.TelegramWebhookSecret != "" {
			if url := p.shop().URL; url != "" {
				if err := p.telegram.SetWebhook(ctx, url+"/api/notify/telegram/webhook", p.cfg.TelegramWebhookSecret); err != nil {
					app.Logger().Warn("notify: telegram setWebhook failed; set it yourself (see README)", "error", err)
				}
			}
			return
		}
		// getUpdates is refused while a webhook is set.
		if err := p.telegram.DeleteWebhook(ctx); err != nil && ctx.Err() == nil {
			app.Logger().Warn("notify: telegram deleteWebhook failed", "error", err)
		}
		_ = p.telegram.Poll(ctx, p.handleTelegramUpdate)
	}()
}

// linkResponse is what the link route returns.
type linkResponse struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"`
}

func (p *plugin) handleTelegramLink(e *core.RequestEvent) error {
	if p.telegram == nil {
		return e.Error(http.StatusServiceUnavailable, "Telegram is not configured on this shop (NOTIFY_TELEGRAM_TOKEN).", nil)
	}
	bot, err := p.telegram.Username(e.Request.Context())
	if err != nil {
		return e.Error(http.StatusBadGateway, "Telegram could not be reached; try again in a minute.", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(raw) // 32 chars of [A-Za-z0-9_-], as /start allows
	expires := p.cfg.Now().Add(p.cfg.TelegramLinkTTL)
	_, err = e.App.NonconcurrentDB().NewQuery(`INSERT INTO {{` + linkTokensTable + `}} ([[hash]], [[user]], [[expires]]) VALUES ({:h}, {:u}, {:x})`).
		Bind(dbx.Params{"h": tokenHash(token), "u": e.Auth.Id, "x": dbTime(expires)}).Execute()
	if err != nil {
		return e.InternalServerError("Could not create a link.", err)
	}
	return e.JSON(http.StatusOK, linkResponse{URL: "https://t.me/" + bot + "?start=" + token, ExpiresAt: dbTime(expires)})
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (p *plugin) handleTelegramWebhook(e *core.RequestEvent) error {
	if p.telegram == nil || p.cfg.TelegramWebhookSecret == "" {
		return e.NotFoundError("", nil)
	}
	u, err := telegram.ParseWebhook(e.Request, p.cfg.TelegramWebhookSecret)
	switch {
	case errors.Is(err, telegram.ErrBadSecret):
		return e.UnauthorizedError("Wrong secret token.", nil)
	case err != nil:
		return e.BadRequestError("Not a Telegram update.", err)
	}
	p.handleTelegramUpdate(e.Request.Context(), u)
	return e.NoContent(http.StatusOK)
}

// handleTelegramUpdate reacts to what users send the bot.
func (p *plugin) handleTelegramUpdate(ctx context.Context, u telegram.Update) {
	app := p.app
	links := telegramLinks{app}
	switch {
	case u.Blocked:
		_ = links.Deactivate(ctx, u.ChatID)
		return
	case u.MigrateToChat != 0:
		_ = links.Migrate(ctx, u.ChatID, u.MigrateToChat)
		return
	}
	private := u.ChatType == "private"
	if token, ok := telegram.ParseStart(u.Text); ok {
		if !private {
			p.reply(ctx, u.ChatID, u.FromLanguage, "Please open the link in a private chat with the bot.", "Пожалуйста, откройте ссылку в личном чате с ботом.")
			return
		}
		if token == "" {
			p.reply(ctx, u.ChatID, u.FromLanguage,
				"Hello! To get your order updates here, open the Telegram link from your account settings in the shop.",
				"Здравствуйте! Чтобы получать здесь уведомления о заказах, откройте ссылку на Telegram в настройках вашего аккаунта в магазине.")
			return
		}
		user, err := p.consumeLinkToken(token, u)
		if err != nil {
			app.Logger().Info("notify: telegram link refused", "chat", u.ChatID, "reason", err)
			p.reply(ctx, u.ChatID, u.FromLanguage,
				"This link has expired or was already used. Please get a new one in your account settings in the shop.",
				"Эта ссылка устарела или уже использована. Пожалуйста, получите новую в настройках аккаунта в магазине.")
			return
		}
		shop := p.shop().Name
		p.reply(ctx, u.ChatID, user.GetString("locale"),
			"✅ Telegram is connected to your account at "+shop+". Order updates will arrive here. Send /stop to turn them off.",
			"✅ Telegram подключён к вашему аккаунту в магазине «"+shop+"». Уведомления о заказах будут приходить сюда. Отправьте /stop, чтобы отключить их.")
		return
	}
	if telegram.IsStop(u.Text) {
		if err := links.Deactivate(ctx, u.ChatID); err == nil {
			p.reply(ctx, u.ChatID, u.FromLanguage,
				"You will no longer get messages here. You can connect Telegram again from the shop.",
				"Вы больше не будете получать сообщения здесь. Подключить Telegram снова можно в магазине.")
		}
		return
	}
	if private {
		p.reply(ctx, u.ChatID, u.FromLanguage,
			"This bot sends order updates from "+p.shop().Name+". Send /stop to turn them off.",
			"Этот бот присылает уведомления о заказах магазина «"+p.shop().Name+"». Отправьте /stop, чтобы отключить их.")
	}
}

func (p *plugin) reply(ctx context.Context, chatID int64, locale, en, ru string) {
	text := en
	if locale == "ru" || (locale == "" && p.cfg.DefaultLocale == "ru") {
		text = ru
	}
	if err := p.telegram.Reply(ctx, chatID, text); err != nil {
		p.app.Logger().Warn("notify: telegram reply failed", "chat", chatID, "error", err)
	}
}

var errBadToken = errors.New("unknown, used or expired link token")

// consumeLinkToken spends a one-time token and binds the chat to its user,
// in one transaction. A chat belongs to one user: linking it moves it.
func (p *plugin) consumeLinkToken(token string, u telegram.Update) (*core.Record, error) {
	var user *core.Record
	err := p.app.RunInTransaction(func(txApp core.App) error {
		var row struct {
			User    string `db:"user"`
			Expires string `db:"expires"`
			Used    bool   `db:"used"`
		}
		err := txApp.DB().NewQuery(`SELECT [[user]], [[expires]], [[used]] FROM {{` + linkTokensTable + `}} WHERE [[hash]] = {:h}`).
			Bind(dbx.Params{"h": tokenHash(token)}).One(&row)
		if errors.Is(err, sql.ErrNoRows) || row.Used || row.Expires < dbTime(p.cfg.Now()) {
			return errBadToken
		}
		if err != nil {
			return err
		}
		if _, err := txApp.DB().NewQuery(`UPDATE {{` + linkTokensTable + `}} SET [[used]] = TRUE WHERE [[hash]] = {:h}`).
			Bind(dbx.Params{"h": tokenHash(token)}).Execute(); err != nil {
			return err
		}
		if user, err = txApp.FindRecordById(p.cfg.UsersCollection, row.User); err != nil {
			return errBadToken
		}
		others, err := txApp.FindAllRecords(TelegramLinksCollection, dbx.HashExp{"chatId": u.ChatID})
		if err != nil {
			return err
		}
		for _, o := range others {
			if o.GetString("user") != user.Id {
				if err := txApp.Delete(o); err != nil {
					return err
				}
			}
		}
		link, err := txApp.FindFirstRecordByData(TelegramLinksCollection, "user", user.Id)
		if err != nil {
			coll, err := txApp.FindCachedCollectionByNameOrId(TelegramLinksCollection)
			if err != nil {
				return err
			}
			link = core.NewRecord(coll)
			link.Set("user", user.Id)
		}
		link.Set("chatId", u.ChatID)
		link.Set("active", true)
		link.Set("username", u.FromUsername)
		return txApp.Save(link)
	})
	return user, err
}

// telegramLinks lets the channel update links when Telegram reports a
// blocked bot or a migrated chat. Records are saved through the app, so a
// storefront watching its link over realtime sees the change.
type telegramLinks struct{ app core.App }

func (l telegramLinks) Deactivate(ctx context.Context, chatID int64) error {
	recs, err := l.app.FindAllRecords(TelegramLinksCollection, dbx.HashExp{"chatId": chatID, "active": true})
	if err != nil {
		return err
	}
	for _, r := range recs {
		r.Set("active", false)
		if err := l.app.Save(r); err != nil {
			return err
		}
	}
	return nil
}

func (l telegramLinks) Migrate(ctx context.Context, oldID, newID int64) error {
	recs, err := l.app.FindAllRecords(TelegramLinksCollection, dbx.HashExp{"chatId": oldID})
	if err != nil {
		return err
	}
	for _, r := range recs {
		r.Set("chatId", newID)
		if err := l.app.Save(r); err != nil {
			return err
		}
	}
	return nil
}

// linkTTLDefault is how long a link token works.
const linkTTLDefault = 15 * time.Minute
