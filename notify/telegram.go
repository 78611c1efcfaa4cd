package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pbnotify/pbnotify/channels/telegram"
	"github.com/pbnotify/pbnotify/notify/internal/outbox"
	"github.com/pbnotify/pbnotify/notify/internal/telegramlink"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// TelegramLinksCollection binds users to Telegram chats. A user sees their
// own link (to show "connected"); only the bot writes it, so a chat id can
// never be set through the records API.
const TelegramLinksCollection = telegramlink.Collection

// setupTelegram creates the channel when a bot token is configured.
func (p *plugin) setupTelegram() error {
	// The link store works without a bot: the link route answers 503 then.
	p.links = telegramlink.NewStore(p.app, p.cfg.UsersCollection, p.cfg.Now)
	if p.cfg.TelegramToken == "" {
		return nil
	}
	ch, err := telegram.New(telegram.Config{
		Token:       p.cfg.TelegramToken,
		APIURL:      p.cfg.TelegramAPIURL,
		HTTPClient:  p.cfg.TelegramHTTPClient,
		GlobalRate:  p.cfg.TelegramGlobalRate,
		PerChatRate: p.cfg.TelegramPerChatRate,
		Links:       p.links,
		Now:         p.cfg.Now, // the rate limits decide with the dispatcher's clock
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

// telegramChat is the active chat id of user, or "" when the user has not
// linked Telegram (the channel then skips the message: under mode "first",
// the next channel gets it). A database error is returned as it is, so the
// message is retried rather than skipped.
func (p *plugin) telegramChat(user *core.Record) (string, error) {
	chat, err := p.links.ChatID(user.Id)
	if errors.Is(err, telegramlink.ErrNotLinked) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(chat, 10), nil
}

func (p *plugin) bindTelegram() {
	p.app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Id: HookTelegram,
		Func: func(se *core.ServeEvent) error {
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
	token, err := p.links.NewToken(e.Auth.Id, p.cfg.TelegramLinkTTL)
	if err != nil {
		return e.InternalServerError("Could not create a link.", err)
	}
	return e.JSON(http.StatusOK, linkResponse{URL: "https://t.me/" + bot + "?start=" + token.Value, ExpiresAt: outbox.DBTime(token.Expires)})
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
	links := p.links
	switch {
	case u.Blocked:
		_ = links.Deactivate(ctx, u.ChatID)
		return
	case u.MigrateToChat != 0:
		_ = links.Migrate(ctx, u.ChatID, u.MigrateToChat)
		return
	}
	if u.CallbackID != "" {
		p.handleMoveAnswer(ctx, u)
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
		user, err := links.Consume(token, u.ChatID, u.FromUsername)
		var pending *telegramlink.PendingMove
		if errors.As(err, &pending) {
			p.askToMove(ctx, u, pending)
			return
		}
		if err != nil {
			app.Logger().Info("notify: telegram link refused", "chat", u.ChatID, "reason", err)
			p.reply(ctx, u.ChatID, u.FromLanguage,
				"This link has expired or was already used. Please get a new one in your account settings in the shop.",
				"Эта ссылка устарела или уже использована. Пожалуйста, получите новую в настройках аккаунта в магазине.")
			return
		}
		p.confirmLinked(ctx, u.ChatID, user)
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

// confirmLinked tells the chat it now gets user's messages.
func (p *plugin) confirmLinked(ctx context.Context, chatID int64, user *core.Record) {
	shop := p.shop().Name
	p.reply(ctx, chatID, user.GetString("locale"),
		"✅ Telegram is connected to your account at "+shop+". Order updates will arrive here. Send /stop to turn them off.",
		"✅ Telegram подключён к вашему аккаунту в магазине «"+shop+"». Уведомления о заказах будут приходить сюда. Отправьте /stop, чтобы отключить их.")
}

// Callback data of the buttons that answer a pending move.
const (
	moveYes = "move:"
	moveNo  = "keep:"
)

// askToMove asks a chat that is linked to one account whether it should
// move to the account whose link it just opened: someone else's link,
// opened by mistake or by a trick, must not take the chat over. The other
// account learns nothing of the chat unless the chat says yes.
func (p *plugin) askToMove(ctx context.Context, u telegram.Update, pending *telegramlink.PendingMove) {
	en := "This Telegram chat already gets the messages of an account at " + p.shop().Name +
		". The link you opened belongs to another account. Move this chat to the other account? If you did not ask for this, press Keep."
	ru := "Этот чат Telegram уже получает уведомления аккаунта в магазине «" + p.shop().Name +
		"». Открытая вами ссылка принадлежит другому аккаунту. Перенести этот чат в другой аккаунт? Если вы этого не просили, нажмите «Оставить»."
	yes, no := "Move to the other account", "Keep"
	text := en
	if p.russian(u.FromLanguage) {
		text, yes, no = ru, "Перенести в другой аккаунт", "Оставить"
	}
	err := p.telegram.Ask(ctx, u.ChatID, text,
		telegram.Choice{Text: yes, Data: moveYes + pending.ID},
		telegram.Choice{Text: no, Data: moveNo + pending.ID})
	if err != nil {
		p.app.Logger().Warn("notify: telegram reply failed", "chat", u.ChatID, "error", err)
	}
}

// handleMoveAnswer carries out or drops a pending move, as the chat's
// button press says. A move is confirmed only from the chat it is about.
func (p *plugin) handleMoveAnswer(ctx context.Context, u telegram.Update) {
	if err := p.telegram.AnswerCallback(ctx, u.CallbackID, ""); err != nil {
		p.app.Logger().Warn("notify: telegram answerCallbackQuery failed", "error", err)
	}
	switch {
	case strings.HasPrefix(u.CallbackData, moveYes):
		user, err := p.links.Confirm(strings.TrimPrefix(u.CallbackData, moveYes), u.ChatID)
		if err != nil {
			p.app.Logger().Info("notify: telegram move refused", "chat", u.ChatID, "reason", err)
			p.reply(ctx, u.ChatID, u.FromLanguage,
				"This request has expired. Please get a new link in your account settings in the shop.",
				"Этот запрос устарел. Пожалуйста, получите новую ссылку в настройках аккаунта в магазине.")
			return
		}
		p.confirmLinked(ctx, u.ChatID, user)
	case strings.HasPrefix(u.CallbackData, moveNo):
		if err := p.links.Drop(strings.TrimPrefix(u.CallbackData, moveNo), u.ChatID); err != nil {
			p.app.Logger().Warn("notify: telegram: dropping a declined move failed", "chat", u.ChatID, "error", err)
		}
		p.reply(ctx, u.ChatID, u.FromLanguage,
			"OK, this chat stays with its account.",
			"Хорошо, чат остаётся с прежним аккаунтом.")
	}
}

func (p *plugin) russian(locale string) bool {
	return locale == "ru" || (locale == "" && p.cfg.DefaultLocale == "ru")
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

// linkTTLDefault is how long a link token works.
const linkTTLDefault = 15 * time.Minute
