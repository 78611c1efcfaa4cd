package telegram

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-telegram/bot"
)

// Choice is an inline keyboard button that answers the bot: pressing it
// sends a callback_query update carrying Data (at most 64 bytes).
type Choice struct {
	Text string
	Data string
}

// choiceKeyboard is the reply_markup of Ask: one row of callback buttons.
type choiceKeyboard struct {
	InlineKeyboard [][]callbackButton `json:"inline_keyboard"`
}

type callbackButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

// maxCallbackData is Telegram's limit on callback_data, in bytes.
const maxCallbackData = 64

// Ask sends text to chatID with one button per choice, within the rate
// limits, as a reply to something the chat just sent. The chat's answer
// comes back as an Update with CallbackID and CallbackData; acknowledge it
// with AnswerCallback.
func (c *Channel) Ask(ctx context.Context, chatID int64, text string, choices ...Choice) error {
	if c.bot == nil {
		return ErrNotConfigured
	}
	var row []callbackButton
	for _, ch := range choices {
		if strings.TrimSpace(ch.Text) == "" || ch.Data == "" || len(ch.Data) > maxCallbackData {
			return fmt.Errorf("telegram: Ask: a choice needs text and 1-%d bytes of data, got %q / %q", maxCallbackData, ch.Text, ch.Data)
		}
		row = append(row, callbackButton{Text: ch.Text, CallbackData: ch.Data})
	}
	key := fmt.Sprintf("reply %d", c.replies.Add(1))
	turn := func(ctx context.Context, chatID int64) (func(sent bool), error) {
		return c.limits.wait(ctx, key, chatID)
	}
	_, _, err := c.send(ctx, turn, chatID, text, &choiceKeyboard{InlineKeyboard: [][]callbackButton{row}})
	return err
}

// AnswerCallback acknowledges a button press (answerCallbackQuery), so the
// user's client stops showing it as pending; text, if any, is shown
// briefly at the top of the chat.
func (c *Channel) AnswerCallback(ctx context.Context, callbackID, text string) error {
	if c.bot == nil {
		return ErrNotConfigured
	}
	if _, err := c.bot.AnswerCallbackQuery(ctx, &bot.AnswerCallbackQueryParams{CallbackQueryID: callbackID, Text: text}); err != nil {
		return fmt.Errorf("telegram: answerCallbackQuery: %w", c.redact(err))
	}
	return nil
}
