package smstest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pbnotify/pbnotify/channels/sms/smstest"
)

// post sends a raw form, the way a provider client would, and decodes the
// JSON answer.
func post(t *testing.T, endpoint string, form url.Values, user, pass string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		return resp.StatusCode, resp.Header, map[string]any{"raw": string(body)}
	}
	return resp.StatusCode, resp.Header, v
}

func TestTwilioChecks(t *testing.T) {
	srv := smstest.New(t)
	endpoint := srv.URL + "/2010-04-01/Accounts/" + smstest.AccountSID + "/Messages.json"
	good := url.Values{"To": {"+79123456789"}, "From": {smstest.From}, "Body": {"hi"}}
	without := func(field string) url.Values {
		v := url.Values{}
		for k, vs := range good {
			if k != field {
				v[k] = vs
			}
		}
		return v
	}
	tests := []struct {
		name       string
		endpoint   string
		form       url.Values
		user, pass string
		wantStatus int
		wantCode   float64 // Twilio's error code; 0 on success
	}{
		{"accepted", endpoint, good, smstest.AccountSID, smstest.AuthToken, 201, 0},
		{"no auth", endpoint, good, "", "", 401, 20003},
		{"wrong token", endpoint, good, smstest.AccountSID, "nope", 401, 20003},
		{"another account's path", srv.URL + "/2010-04-01/Accounts/AC999/Messages.json", good, smstest.AccountSID, smstest.AuthToken, 401, 20003},
		{"wrong path", srv.URL + "/2010-04-01/Accounts/" + smstest.AccountSID + "/SMS.json", good, smstest.AccountSID, smstest.AuthToken, 404, 20404},
		{"To not E.164", endpoint, url.Values{"To": {"89123456789"}, "From": {smstest.From}, "Body": {"hi"}}, smstest.AccountSID, smstest.AuthToken, 400, 21211},
		{"no To", endpoint, without("To"), smstest.AccountSID, smstest.AuthToken, 400, 21604},
		{"no From", endpoint, without("From"), smstest.AccountSID, smstest.AuthToken, 400, 21603},
		{"no Body", endpoint, without("Body"), smstest.AccountSID, smstest.AuthToken, 400, 21602},
	}
	for _, tt := range tests {
		status, _, body := post(t, tt.endpoint, tt.form, tt.user, tt.pass)
		code, _ := body["code"].(float64)
		if status != tt.wantStatus || code != tt.wantCode {
			t.Errorf("%s: answer %d %v; want %d with code %v", tt.name, status, body, tt.wantStatus, tt.wantCode)
		}
		if tt.wantCode == 0 {
			if sid, _ := body["sid"].(string); !strings.HasPrefix(sid, "SM") {
				t.Errorf("%s: sid = %q; want SM...", tt.name, sid)
			}
		}
	}
	if n := len(srv.Sent()); n != 1 {
		t.Errorf("Sent() has %d messages; want only the accepted one", n)
	}
}

func TestTwilioScriptedReplies(t *testing.T) {
	srv := smstest.New(t)
	endpoint := srv.URL + "/2010-04-01/Accounts/" + smstest.AccountSID + "/Messages.json"
	form := url.Values{"To": {"+79123456789"}, "From": {smstest.From}, "Body": {"hi"}}
	srv.ReplyNext(smstest.TwilioTooMany("7"), smstest.ServerError(500))

	// A request that fails its own checks does not use up a scripted reply.
	if status, _, _ := post(t, endpoint, form, smstest.AccountSID, "nope"); status != 401 {
		t.Fatalf("wrong token: status %d; want 401", status)
	}
	status, header, body := post(t, endpoint, form, smstest.AccountSID, smstest.AuthToken)
	if status != 429 || header.Get("Retry-After") != "7" || body["code"] != float64(20429) {
		t.Errorf("first scripted reply: %d Retry-After %q %v; want 429, 7, code 20429", status, header.Get("Retry-After"), body)
	}
	if status, _, _ := post(t, endpoint, form, smstest.AccountSID, smstest.AuthToken); status != 500 {
		t.Errorf("second scripted reply: status %d; want 500", status)
	}
	if status, _, _ := post(t, endpoint, form, smstest.AccountSID, smstest.AuthToken); status != 201 {
		t.Errorf("after the script: status %d; want 201", status)
	}
	if got := srv.Requests(); got != 4 {
		t.Errorf("Requests() = %d; want 4", got)
	}
}

func TestSMSRuAnswers(t *testing.T) {
	srv := smstest.New(t)
	endpoint := srv.URL + "/sms/send"
	form := func(apiID, to, text string) url.Values {
		return url.Values{"api_id": {apiID}, "to": {to}, "msg": {text}, "json": {"1"}}
	}
	number := func(body map[string]any, n string) map[string]any {
		sms, _ := body["sms"].(map[string]any)
		entry, _ := sms[n].(map[string]any)
		return entry
	}

	_, _, body := post(t, endpoint, form(smstest.APIID, "79123456789", "hi"), "", "")
	if entry := number(body, "79123456789"); body["status"] != "OK" || entry["status"] != "OK" || entry["sms_id"] == nil {
		t.Errorf("valid request: %v; want OK with an sms_id for 79123456789", body)
	}
	if got := srv.Sent(); len(got) != 1 || got[0].To != "79123456789" || got[0].Body != "hi" {
		t.Errorf("Sent() = %+v; want the one message", got)
	}

	status, _, body := post(t, endpoint, form("wrong", "79123456789", "hi"), "", "")
	if status != 200 || body["status"] != "ERROR" || body["status_code"] != float64(200) {
		t.Errorf("wrong api_id: %d %v; want 200 with ERROR 200", status, body)
	}
	_, _, body = post(t, endpoint, form(smstest.APIID, "79123456789", ""), "", "")
	if body["status"] != "ERROR" || body["status_code"] != float64(203) {
		t.Errorf("no text: %v; want ERROR 203", body)
	}
	_, _, body = post(t, endpoint, form(smstest.APIID, "12345", "hi"), "", "")
	if entry := number(body, "12345"); body["status"] != "OK" || entry["status"] != "ERROR" || entry["status_code"] != float64(202) {
		t.Errorf("bad number: %v; want a per-number ERROR 202", body)
	}

	srv.ReplyNext(smstest.SMSRuNumberError(207, "На этот номер нет маршрута для доставки сообщений"))
	_, _, body = post(t, endpoint, form(smstest.APIID, "79123456789", "hi"), "", "")
	if entry := number(body, "79123456789"); entry["status"] != "ERROR" || entry["status_code"] != float64(207) || entry["status_text"] == "" {
		t.Errorf("scripted per-number error: %v; want ERROR 207 with its text", body)
	}

	resp, err := http.Get(endpoint + "?" + form(smstest.APIID, "79123456789", "hi").Encode())
	if err != nil {
		t.Fatal(err)
	}
	var get map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&get)
	resp.Body.Close()
	if get["status_code"] != float64(210) {
		t.Errorf("GET: %v; want ERROR 210", get)
	}
	if n := len(srv.Sent()); n != 1 {
		t.Errorf("Sent() has %d messages; want 1", n)
	}
}
