// The Notifications page of the pbnotify plugin, a PocketBase dashboard UI
// extension (v0.40, experimental API). The dashboard concatenates this file
// into /_/extensions.js and runs it before its router starts, with its
// globals: `t` (Shablon elements), `store`, `watch`, and `app` (pb client,
// store, routes, components, modals, toasts). Everything here is built from
// the dashboard's own classes and components, so it follows its light and
// dark themes.
//
// Data comes from the plugin's superuser-only routes under
// /api/notify/console/ (see notify/internal/console) and the existing
// template preview/test-send routes; counts refresh on realtime events of
// notifyMessages.

const API = "/api/notify/console";
const BASE = "#/notify";
const SECTIONS = [
    { href: BASE, icon: "ri-pulse-line", label: "Health" },
    { href: BASE + "/failures", icon: "ri-error-warning-line", label: "Failures" },
    { href: BASE + "/templates", icon: "ri-file-edit-line", label: "Templates" },
    { href: BASE + "/rules", icon: "ri-line-chart-line", label: "Per rule" },
    { href: BASE + "/simulator", icon: "ri-flask-line", label: "Rule simulator" },
];
const TEMPLATE_FIELDS = [
    { name: "subject", label: "Email subject", lang: "plain", single: true },
    { name: "html", label: "Email HTML", lang: "html" },
    { name: "text", label: "Email text", lang: "plain" },
    { name: "telegram", label: "Telegram (HTML)", lang: "html" },
    { name: "pushTitle", label: "Push / inbox title", lang: "plain", single: true },
    { name: "pushBody", label: "Push / inbox body", lang: "plain" },
    { name: "pushUrl", label: "Push / inbox link", lang: "plain", single: true },
    { name: "sms", label: "SMS", lang: "plain" },
];
const SERIES = [
    { key: "sent", label: "sent", color: "var(--successColor)" },
    { key: "failed", label: "failed", color: "var(--dangerColor)" },
    { key: "skipped", label: "skipped", color: "var(--warningColor)" },
    { key: "opened", label: "opened", color: "var(--infoColor)", tracked: true },
    { key: "clicked", label: "clicked", color: "#9b59b6", tracked: true }, // violet: readable on light and dark
];

// The dashboard runs every extension's main.js in one module, one after
// the other: if its (experimental) API changed under us, say so in the
// console and leave the dashboard and the other extensions working.
try {
    register();
} catch (err) {
    console.error("pbnotify: the Notifications page could not be added to this dashboard version:", err);
}

function register() {
    // the page's stylesheet, next to this file
    document.head.appendChild(t.link({ rel: "stylesheet", href: app.pb.buildURL("/_/extensions/notify/console.css") }));

    // header link, before "Settings"
    {
        const link = {
            href: BASE,
            icon: "ri-notification-3-line",
            label: "Notifications",
            isActive: () => window.location.hash == BASE || window.location.hash.startsWith(BASE + "/")
                || window.location.hash.startsWith(BASE + "?"),
        };
        const settingsAt = app.store.headerLinks.findIndex((l) => l.href == "#/settings");
        if (settingsAt >= 0) {
            app.store.headerLinks.splice(settingsAt, 0, link);
        } else {
            app.store.headerLinks.push(link);
        }
    }

    app.routes.superuserOnly(BASE, () => page("Health", healthView()));
    app.routes.superuserOnly(BASE + "/failures", () => page("Failures", failuresView()));
    app.routes.superuserOnly(BASE + "/templates", (route) => page("Templates", templatesView(route), true));
    app.routes.superuserOnly(BASE + "/rules", () => page("Per rule", rulesView(), true));
    app.routes.superuserOnly(BASE + "/simulator", () => page("Rule simulator", simulatorView()));
}

// -------------------------------------------------------------------
// helpers

function api(path, options = {}) {
    return app.pb.send(path, { requestKey: null, ...options });
}

function debounce(fn, ms) {
    let id;
    return (...args) => {
        clearTimeout(id);
        id = setTimeout(() => fn(...args), ms);
    };
}

function parseDate(s) {
    return s ? new Date(s.replace(" ", "T")) : null;
}

function fmtDate(s) {
    const d = parseDate(s);
    return d ? d.toLocaleString() : "";
}

function fmtAge(seconds) {
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
    return Math.floor(seconds / 86400) + " d " + Math.floor((seconds % 86400) / 3600) + " h";
}

function fmtIn(s) {
    const d = parseDate(s);
    if (!d) return "";
    const sec = Math.round((d - Date.now()) / 1000);
    return sec <= 0 ? "due now" : "in " + fmtAge(sec);
}

function escapeXML(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]);
}

// at most one call per `ms`, the last one included, so a steady stream of
// events refreshes steadily (a debounce would wait for a pause that may
// never come) without a query per event
function throttle(fn, ms) {
    let last = 0, timer = null;
    return () => {
        if (timer) return;
        const wait = Math.max(0, last + ms - Date.now());
        timer = setTimeout(() => {
            timer = null;
            last = Date.now();
            fn();
        }, wait);
    };
}

// subscribe to notifyMessages while el is mounted; onchange runs at most
// once per `every` ms (a short wait gathers a burst into one refresh)
function liveMessages(onchange, every = 1000) {
    const refresh = throttle(onchange, every);
    let unsubscribe;
    let mounted = false;
    return {
        onmount: async () => {
            mounted = true;
            try {
                const unsub = await app.pb.collection("notifyMessages").subscribe("*", refresh);
                if (mounted) {
                    unsubscribe = unsub;
                } else {
                    unsub(); // left the page before the subscription was made
                }
            } catch (err) {
                console.warn("notify: realtime subscription failed", err);
            }
        },
        onunmount: () => {
            mounted = false;
            unsubscribe?.();
            unsubscribe = null;
        },
    };
}

function page(title, content, wide = false) {
    app.store.title = title;
    return t.div(
        { className: "page notify-page", "html-data-notify-page": title },
        app.components.pageSidebar(
            { className: "notify-sidebar" },
            t.nav(
                { className: "sidebar-content scrollable" },
                t.details(
                    { className: "nav-group", open: true },
                    t.summary({ tabIndex: -1, onclick: () => false }, "Notifications"),
                    SECTIONS.map((s) =>
                        t.a(
                            {
                                href: s.href,
                                className: () => {
                                    const h = window.location.hash.split("?")[0];
                                    return `nav-item ${h == s.href ? "active" : ""}`;
                                },
                            },
                            t.i({ className: s.icon, ariaHidden: true }),
                            t.span({ className: "txt" }, s.label),
                        )
                    ),
                ),
            ),
        ),
        t.div(
            { className: "page-content full-height" },
            t.header(
                { className: "page-header" },
                t.nav(
                    { className: "breadcrumbs" },
                    t.div({ className: "breadcrumb-item" }, "Notifications"),
                    t.div({ className: "breadcrumb-item" }, title),
                ),
            ),
            t.div({ className: `wrapper ${wide ? "lg" : ""} m-b-base` }, content),
            t.footer({ className: "page-footer" }, app.components.credits()),
        ),
    );
}

function loader() {
    return t.div({ className: "block txt-center p-base" }, t.span({ className: "loader lg" }));
}

function errorAlert(msg) {
    return t.div({ className: "alert danger m-b-sm" }, msg);
}

// -------------------------------------------------------------------
// Health

function healthView() {
    const data = store({ health: null, error: "", loadedAt: 0 });

    async function load() {
        try {
            data.health = await api(API + "/health");
            data.error = "";
            data.loadedAt = Date.now();
        } catch (err) {
            if (!err.isAbort) data.error = err?.response?.message || err.message;
        }
    }
    load();
    const live = liveMessages(load);

    function stat(key, label, value, hint, variant = "") {
        return t.div(
            { className: `notify-stat ${variant}`, "html-data-stat": key },
            t.div({ className: "notify-stat-label" }, label),
            t.div({ className: "notify-stat-value" }, value),
            t.div({ className: "notify-stat-hint txt-hint txt-sm" }, hint || "\u00a0"),
        );
    }

    return t.div(
        {
            className: "notify-health",
            "html-data-loaded-at": () => String(data.loadedAt),
            onmount: live.onmount,
            onunmount: live.onunmount,
        },
        t.div(
            { className: "flex gap-10 m-b-sm" },
            t.div({ className: "txt-lg" }, "The outbox at a glance"),
            app.components.refreshButton({ className: "btn sm transparent secondary circle", onclick: load }),
            t.div({ className: "flex-fill" }),
            t.span({ className: "txt-hint txt-sm" }, "Live: updates on every message change"),
        ),
        () => {
            if (data.error) return errorAlert(data.error);
            const h = data.health;
            if (!h) return loader();
            return [
                t.div(
                    { className: "notify-stats" },
                    stat("queued", "Queued", h.queued, "waiting, due or not"),
                    stat("due", "Due now", h.due, "runAt has come", h.due > 0 ? "info" : ""),
                    stat(
                        "retrying",
                        "Retrying",
                        h.retrying,
                        h.nextRetryAt ? "next attempt " + fmtIn(h.nextRetryAt) : "none waiting",
                        h.retrying > 0 ? "warning" : "",
                    ),
                    stat("sending", "Sending", h.sending, "held by a worker"),
                    stat("failed24h", "Failed, 24 h", h.failed24h, "ended failed", h.failed24h > 0 ? "danger" : ""),
                    stat(
                        "oldestDue",
                        "Oldest due",
                        h.oldestDueAt ? fmtAge(h.oldestDueSeconds) : "—",
                        h.oldestDueAt ? "waiting since " + fmtDate(h.oldestDueAt) : "nothing is due",
                        h.oldestDueSeconds > 300 ? "warning" : "",
                    ),
                ),
                t.div({ className: "txt-lg m-t-base m-b-sm" }, "Channels"),
                t.table(
                    { className: "notify-channels" },
                    t.thead(
                        null,
                        t.tr(
                            null,
                            t.th(null, "Channel"),
                            t.th(null, "Set up"),
                            t.th({ className: "txt-right" }, "Queued"),
                            t.th(null, "Last error"),
                        ),
                    ),
                    t.tbody(
                        null,
                        h.channels.map((ch) =>
                            t.tr(
                                { "html-data-channel": ch.name },
                                t.td(null, t.strong(null, ch.name)),
                                t.td(
                                    null,
                                    ch.configured
                                        ? t.span({ className: "label success" }, "configured")
                                        : [
                                            t.span({ className: "label warning" }, "not configured"),
                                            ch.setup ? t.div({ className: "txt-hint txt-sm notify-setup" }, "set up: " + ch.setup) : null,
                                        ],
                                ),
                                t.td({ className: "txt-right" }, String(ch.queued)),
                                t.td(
                                    { className: "notify-last-error" },
                                    ch.lastError
                                        ? [
                                            t.code({ className: "txt-danger" }, ch.lastError),
                                            t.div({ className: "txt-hint txt-sm" }, fmtDate(ch.lastErrorAt)),
                                        ]
                                        : t.span({ className: "txt-hint" }, "none"),
                                ),
                            )
                        ),
                    ),
                ),
            ];
        },
    );
}

// -------------------------------------------------------------------
// Failures

function failuresView() {
    const data = store({ status: "failed", groups: null, error: "", open: {}, retrying: "", loadedAt: 0 });

    async function load() {
        try {
            const res = await api(API + "/failures?status=" + data.status);
            if (res.status != data.status) return; // the other tab was picked meanwhile
            data.groups = res.groups;
            data.error = "";
            data.loadedAt = Date.now();
        } catch (err) {
            if (!err.isAbort) data.error = err?.response?.message || err.message;
        }
    }
    load();
    const live = liveMessages(load);

    function retry(group) {
        app.modals.confirm(
            `Put the ${group.count} ${data.status} message(s) with this reason back in the queue? They are sent again at once, to the addresses the customers have now.`,
            async () => {
                data.retrying = group.reason;
                try {
                    const res = await api(API + "/failures/retry", { method: "POST", body: { reason: group.reason, status: data.status } });
                    app.toasts.success(`Queued ${res.retried} message(s) again.`);
                } catch (err) {
                    app.checkApiError(err);
                }
                data.retrying = "";
                load();
            },
            null,
            { yesButton: "Retry group", noButton: "Cancel" },
        );
    }

    return t.div(
        {
            className: "notify-failures",
            "html-data-loaded-at": () => String(data.loadedAt),
            onmount: live.onmount,
            onunmount: live.onunmount,
        },
        t.div(
            { className: "flex gap-10 m-b-sm" },
            t.div({ className: "txt-lg" }, () => `${data.status == "failed" ? "Failed" : "Skipped"} messages, grouped by reason`),
            app.components.refreshButton({ className: "btn sm transparent secondary circle", onclick: load }),
            t.div({ className: "flex-fill" }),
            t.div(
                { className: "notify-range" },
                ["failed", "skipped"].map((st) =>
                    t.button(
                        {
                            type: "button",
                            className: () => `btn sm ${data.status == st ? "" : "secondary transparent"}`,
                            "html-data-status": st,
                            title: st == "skipped" ? "Skipped: e.g. a channel that was not set up yet; retry them once it is" : "",
                            onclick: () => {
                                data.status = st;
                                data.groups = null;
                                data.open = {};
                                load();
                            },
                        },
                        st == "failed" ? "Failed" : "Skipped",
                    )
                ),
            ),
        ),
        () => {
            if (data.error) return errorAlert(data.error);
            if (!data.groups) return loader();
            if (!data.groups.length) {
                return t.div({ className: "alert success" }, `No ${data.status} messages.`);
            }
            return data.groups.map((g) =>
                t.div(
                    { className: "notify-group", "html-data-reason": g.reason },
                    t.div(
                        { className: "notify-group-header" },
                        t.span({ className: "label danger notify-group-count" }, String(g.count)),
                        t.code({ className: "notify-group-reason" }, g.reason),
                        g.channels.map((c) => t.span({ className: "label sm" }, c)),
                        t.button(
                            {
                                type: "button",
                                className: "btn sm secondary transparent",
                                onclick: () => (data.open[g.reason] = !data.open[g.reason]),
                            },
                            () => data.open[g.reason] ? "Hide messages" : "Show messages",
                        ),
                        t.button(
                            {
                                type: "button",
                                className: () => `btn sm ${data.retrying == g.reason ? "loading" : ""}`,
                                disabled: () => !!data.retrying,
                                onclick: () => retry(g),
                            },
                            t.i({ className: "ri-restart-line", ariaHidden: true }),
                            t.span({ className: "txt" }, "Retry group"),
                        ),
                    ),
                    () => {
                        if (!data.open[g.reason]) return;
                        return t.table(
                            { className: "notify-group-messages m-t-sm" },
                            t.thead(
                                null,
                                t.tr(
                                    null,
                                    t.th(null, "When"),
                                    t.th(null, "Channel"),
                                    t.th(null, "Template"),
                                    t.th(null, "To"),
                                    t.th(null, "Error"),
                                ),
                            ),
                            t.tbody(
                                null,
                                g.messages.map((m) =>
                                    t.tr(
                                        null,
                                        t.td({ className: "txt-nowrap" }, fmtDate(m.updated)),
                                        t.td(null, m.channel),
                                        t.td(null, m.template),
                                        t.td(
                                            null,
                                            t.a(
                                                { href: `#/collections?collection=notifyMessages&record=${m.id}` },
                                                m.to || m.id,
                                            ),
                                        ),
                                        t.td({ className: "txt-sm" }, m.error),
                                    )
                                ),
                                g.count > g.messages.length
                                    ? t.tr(
                                        null,
                                        t.td(
                                            { colSpan: 5, className: "txt-hint" },
                                            `and ${g.count - g.messages.length} more`,
                                        ),
                                    )
                                    : null,
                            ),
                        );
                    },
                )
            );
        },
    );
}

// -------------------------------------------------------------------
// Template editor

function templatesView(route) {
    const data = store({
        templates: null,
        rules: [],
        error: "",
        key: route?.query?.key?.[0] || "",
        locale: route?.query?.locale?.[0] || "",
        fields: {},
        saved: "{}",
        record: null, // {id, collectionName, label}
        draft: null, // {errors, preview, previewError}
        drafting: false,
        saving: false,
        testChannel: "email",
        testTo: "",
        testing: false,
        testResult: null,
        variant: route?.query?.variant?.[0] || "",
        get current() {
            const same = (data.templates || []).filter((tp) => tp.key == data.key && tp.locale == data.locale);
            // A/B variants (notifyTemplates.variant, once the shop has it) share key and language
            return same.find((tp) => (tp.variant || "") == data.variant) || same[0];
        },
        get variants() {
            return (data.templates || [])
                .filter((tp) => tp.key == data.key && tp.locale == data.locale)
                .map((tp) => tp.variant || "");
        },
        get keys() {
            return [...new Set((data.templates || []).map((tp) => tp.key))].sort();
        },
        get locales() {
            return [...new Set((data.templates || []).filter((tp) => tp.key == data.key).map((tp) => tp.locale))].sort();
        },
        get dirty() {
            return JSON.stringify(data.fields) != data.saved;
        },
        get collection() {
            const rule = data.rules.find((r) => r.template == data.key);
            if (rule) return rule.collection;
            const prefix = data.key.split(".")[0];
            return app.store.collections.find((c) => c.name == prefix + "s" || c.name == prefix)?.name || "";
        },
    });

    async function loadTemplates() {
        try {
            const [templates, rules] = await Promise.all([
                app.pb.collection("notifyTemplates").getFullList({ sort: "key,locale", requestKey: null }),
                app.pb.collection("notifyRules").getFullList({ fields: "id,name,collection,template", requestKey: null }),
            ]);
            data.rules = rules;
            data.templates = templates;
            if (!data.current) {
                // a template a rule uses has sample data to preview with
                const used = new Set(rules.map((r) => r.template));
                const first = templates.find((tp) => tp.key == "order.shipped" && tp.locale == "en")
                    || templates.find((tp) => used.has(tp.key)) || templates[0];
                data.key = first?.key || "";
                data.locale = first?.locale || "";
                data.variant = first?.variant || "";
            }
            pick();
        } catch (err) {
            if (!err.isAbort) data.error = err?.response?.message || err.message;
        }
    }
    loadTemplates();

    function pick() {
        const tp = data.current;
        const fields = {};
        for (const f of TEMPLATE_FIELDS) fields[f.name] = tp?.[f.name] || "";
        data.fields = fields;
        data.saved = JSON.stringify(fields);
        data.draft = null;
        data.testResult = null;
        renderDraft();
    }

    let draftSeq = 0;
    async function renderDraftNow() {
        const tp = data.current;
        if (!tp) return;
        const seq = ++draftSeq;
        data.drafting = true;
        try {
            const res = await api(`${API}/templates/${tp.id}/draft`, {
                method: "POST",
                body: { ...JSON.parse(JSON.stringify(data.fields)), record: data.record?.id || "" },
            });
            if (seq == draftSeq) data.draft = res;
        } catch (err) {
            if (seq == draftSeq && !err.isAbort) {
                data.draft = { errors: {}, preview: null, previewError: err?.response?.message || err.message };
            }
        }
        if (seq == draftSeq) data.drafting = false;
    }
    const renderDraft = debounce(renderDraftNow, 250);

    async function save() {
        const tp = data.current;
        if (!tp || data.saving) return;
        data.saving = true;
        try {
            const saved = await app.pb.collection("notifyTemplates").update(tp.id, JSON.parse(JSON.stringify(data.fields)), { requestKey: null });
            Object.assign(tp, saved);
            data.saved = JSON.stringify(data.fields);
            app.toasts.success("Template saved.");
        } catch (err) {
            const errs = err?.response?.data || {};
            const fieldErrors = {};
            for (const k in errs) {
                const msg = errs[k]?.message || "";
                const m = msg.match(/template: [A-Za-z]+:(\d+)/);
                fieldErrors[k] = { message: msg, line: m ? parseInt(m[1], 10) : 0 };
            }
            if (Object.keys(fieldErrors).length) {
                data.draft = { ...(data.draft || {}), errors: fieldErrors };
                app.toasts.error("The template was not saved: " + Object.keys(fieldErrors).join(", ") + " has an error.");
            } else {
                app.checkApiError(err);
            }
        }
        data.saving = false;
    }

    async function sendTest() {
        const tp = data.current;
        if (!tp || data.testing) return;
        data.testing = true;
        data.testResult = null;
        try {
            const res = await api(`/api/notify/templates/${tp.id}/test`, {
                method: "POST",
                body: { channel: data.testChannel, to: data.testTo, record: data.record?.id || "" },
            });
            data.testResult = res;
            app.toasts.success(`Test ${data.testChannel} message sent to ${data.testTo}.`);
        } catch (err) {
            const body = err?.response || {};
            data.testResult = { status: body.status || "error", error: body.error || body.message || err.message };
            app.toasts.error(`Test not sent: ${data.testResult.error}`);
        }
        data.testing = false;
    }

    function pickRecord() {
        if (!data.collection) {
            app.toasts.error("No rule uses this template, so there is no collection to pick a record from.");
            return;
        }
        app.modals.openRecordsPicker({
            collection: data.collection,
            maxSelect: 1,
            btnText: "Preview with this record",
            onselect: (records) => {
                const r = records?.[0];
                data.record = r ? { id: r.id, collectionName: r.collectionName, label: r.number || r.name || r.email || r.id } : null;
                renderDraftNow();
            },
        });
    }

    function fieldEditor(f) {
        // the error under the field, as the dashboard's own forms show it
        return t.div(
            { className: "notify-field-wrap", "html-data-field": f.name },
            fieldBox(f),
            () => {
                const e = data.draft?.errors?.[f.name];
                if (!e) return;
                return t.div(
                    { className: "field-help error notify-field-error", "html-data-line": String(e.line || 0) },
                    e.line ? t.strong(null, `Line ${e.line}: `) : null,
                    e.message,
                );
            },
        );
    }

    function fieldBox(f) {
        return t.div(
            {
                className: () => `field notify-field ${data.draft?.errors?.[f.name] ? "error" : ""}`,
                // mark the line the error names inside the code editor
                onmount: (el) => {
                    el._lineWatcher = watch(
                        () => data.draft?.errors?.[f.name]?.line || 0,
                        (line) => {
                            const container = el.querySelector(".code-editor-container");
                            let mark = container?.querySelector(".notify-line-mark");
                            if (!line || !container) {
                                mark?.remove();
                                return;
                            }
                            if (!mark) {
                                mark = t.div({ className: "notify-line-mark", ariaHidden: true });
                                container.prepend(mark);
                            }
                            mark.style.setProperty("--line", String(line - 1));
                        },
                    );
                },
                onunmount: (el) => el._lineWatcher?.unwatch(),
            },
            t.label({ htmlFor: "notify-tpl-" + f.name }, f.label),
            app.components.codeEditor({
                id: "notify-tpl-" + f.name,
                className: "notify-editor",
                language: f.lang,
                singleLine: !!f.single,
                value: () => data.fields[f.name] || "",
                oninput: (val) => {
                    data.fields[f.name] = val;
                    renderDraft();
                },
            }),
        );
    }

    return t.div(
        { className: "notify-templates" },
        () => {
            if (data.error) return errorAlert(data.error);
            if (!data.templates) return loader();
            if (!data.templates.length) return t.div({ className: "alert info" }, "There are no templates yet.");
            return t.div(
                { className: "notify-editor-layout" },
                t.div(
                    { className: "notify-editor-form" },
                    t.div(
                        { className: "grid m-b-sm" },
                        t.div(
                            { className: "col-lg-8" },
                            t.div(
                                { className: "field" },
                                t.label({ htmlFor: "notify-tpl-key" }, "Template"),
                                t.select(
                                    {
                                        id: "notify-tpl-key",
                                        value: () => data.key,
                                        onchange: (e) => {
                                            data.key = e.target.value;
                                            data.variant = "";
                                            if (!data.locales.includes(data.locale)) data.locale = data.locales[0];
                                            data.record = null;
                                            pick();
                                        },
                                    },
                                    () => data.keys.map((k) => t.option({ value: k, selected: k == data.key }, k)),
                                ),
                            ),
                        ),
                        t.div(
                            { className: "col-lg-4" },
                            t.div(
                                { className: "field" },
                                t.label({ htmlFor: "notify-tpl-locale" }, "Language"),
                                t.select(
                                    {
                                        id: "notify-tpl-locale",
                                        value: () => data.locale,
                                        onchange: (e) => {
                                            data.locale = e.target.value;
                                            data.variant = "";
                                            pick();
                                        },
                                    },
                                    () => data.locales.map((l) => t.option({ value: l, selected: l == data.locale }, l)),
                                ),
                            ),
                        ),
                        () => {
                            if (data.variants.length < 2) return;
                            return t.div(
                                { className: "col-lg-12" },
                                t.div(
                                    { className: "field" },
                                    t.label({ htmlFor: "notify-tpl-variant" }, "Variant"),
                                    t.select(
                                        {
                                            id: "notify-tpl-variant",
                                            onchange: (e) => {
                                                data.variant = e.target.value;
                                                pick();
                                            },
                                        },
                                        data.variants.map((v) =>
                                            t.option({ value: v, selected: v == (data.current?.variant || "") }, v || "A (original)")
                                        ),
                                    ),
                                ),
                            );
                        },
                    ),
                    () => {
                        // re-created only when another template is picked
                        const id = data.current?.id;
                        if (!id) return;
                        return t.div({ rid: id, className: "notify-fields" }, TEMPLATE_FIELDS.map(fieldEditor));
                    },
                    t.div(
                        { className: "flex gap-10 m-t-sm" },
                        t.button(
                            {
                                type: "button",
                                className: () => `btn expanded notify-save ${data.saving ? "loading" : ""}`,
                                disabled: () => !data.dirty || data.saving,
                                onclick: save,
                            },
                            t.span({ className: "txt" }, "Save"),
                        ),
                        t.button(
                            {
                                type: "button",
                                className: "btn secondary transparent",
                                disabled: () => !data.dirty,
                                onclick: pick,
                            },
                            "Discard changes",
                        ),
                    ),
                    t.div({ className: "txt-lg m-t-base m-b-sm" }, "Send a test"),
                    t.form(
                        {
                            className: "grid notify-test-form",
                            onsubmit: (e) => {
                                e.preventDefault();
                                sendTest();
                            },
                        },
                        t.div(
                            { className: "col-lg-4" },
                            t.div(
                                { className: "field" },
                                t.label({ htmlFor: "notify-test-channel" }, "Channel"),
                                t.select(
                                    {
                                        id: "notify-test-channel",
                                        value: () => data.testChannel,
                                        onchange: (e) => (data.testChannel = e.target.value),
                                    },
                                    ["email", "telegram", "sms", "webpush", "inbox", "webhook"].map((c) =>
                                        t.option({ value: c, selected: c == data.testChannel }, c)
                                    ),
                                ),
                            ),
                        ),
                        t.div(
                            { className: "col-lg-8" },
                            t.div(
                                { className: "field" },
                                t.label({ htmlFor: "notify-test-to" }, "To"),
                                t.input({
                                    id: "notify-test-to",
                                    type: "text",
                                    required: true,
                                    placeholder: "you@example.org, a chat id, +7…, or a user id",
                                    value: () => data.testTo,
                                    oninput: (e) => (data.testTo = e.target.value),
                                }),
                            ),
                        ),
                        t.div(
                            { className: "col-lg-12" },
                            t.button(
                                {
                                    type: "submit",
                                    className: () => `btn notify-test-send ${data.testing ? "loading" : ""}`,
                                    disabled: () => data.dirty || data.testing,
                                    title: () => data.dirty ? "Save first: a test sends the saved template" : "",
                                },
                                t.i({ className: "ri-send-plane-line", ariaHidden: true }),
                                t.span({ className: "txt" }, "Send test"),
                            ),
                        ),
                    ),
                    () => {
                        if (data.dirty) {
                            return t.div({ className: "txt-hint txt-sm m-t-5" }, "A test sends the saved template: save first.");
                        }
                        const r = data.testResult;
                        if (!r) return;
                        return t.div(
                            { className: `alert ${r.status == "sent" ? "success" : "danger"} m-t-sm notify-test-result` },
                            r.status == "sent" ? `Sent (${r.providerId || "accepted"}).` : `${r.status}: ${r.error}`,
                        );
                    },
                ),
                t.div(
                    { className: "notify-preview" },
                    t.div(
                        { className: "flex gap-10 m-b-sm" },
                        t.div({ className: "txt-lg" }, "Preview"),
                        () => data.drafting ? t.span({ className: "loader sm" }) : null,
                        t.div({ className: "flex-fill" }),
                        t.span(
                            { className: "label notify-preview-source" },
                            () => data.record ? `record ${data.record.label}` : "sample data",
                        ),
                        t.button({ type: "button", className: "btn sm secondary", onclick: pickRecord }, "Pick a record"),
                        () => data.record
                            ? t.button({
                                type: "button",
                                className: "btn sm transparent secondary",
                                onclick: () => {
                                    data.record = null;
                                    renderDraftNow();
                                },
                            }, "Sample data")
                            : null,
                    ),
                    () => previewPanels(data.draft),
                ),
            );
        },
    );
}

function frame(className, html) {
    // sandboxed: no scripts, no same-origin access; the dashboard's CSP applies too
    return t.iframe({ className, "html-sandbox": "", srcdoc: html, title: className });
}

function previewPanels(draft) {
    if (!draft) return loader();
    const errs = Object.keys(draft.errors || {});
    if (errs.length) {
        return t.div(
            { className: "alert danger notify-preview-error" },
            `Fix ${errs.join(", ")} to see the preview; saving would be refused the same way.`,
        );
    }
    if (draft.previewError) return t.div({ className: "alert warning notify-preview-error" }, draft.previewError);
    const p = draft.preview || {};
    const tgDoc = `<!doctype html><meta charset="utf-8"><style>body{margin:0;font:14px/1.4 system-ui,sans-serif;white-space:pre-wrap;color:#000}a{color:#168acd}</style>${p.telegram || ""}`;
    const others = t.div(
        { className: "notify-pv-others" },
        t.div(
            { className: "notify-pv notify-pv-telegram", "html-data-channel": "telegram" },
            t.div({ className: "notify-pv-title" }, t.i({ className: "ri-telegram-line" }), " Telegram"),
            p.telegram
                ? t.div({ className: "notify-bubble" }, frame("notify-telegram-frame", tgDoc))
                : t.div({ className: "txt-hint" }, "no Telegram text"),
        ),
        t.div(
            { className: "notify-pv notify-pv-push", "html-data-channel": "webpush" },
            t.div({ className: "notify-pv-title" }, t.i({ className: "ri-notification-badge-line" }), " Web push"),
            t.div(
                { className: "notify-push" },
                t.div({ className: "notify-push-title" }, p.pushTitle || ""),
                t.div({ className: "notify-push-body" }, p.pushBody || ""),
                t.div({ className: "txt-hint txt-sm txt-ellipsis" }, p.pushUrl || ""),
            ),
        ),
        t.div(
            { className: "notify-pv notify-pv-inbox", "html-data-channel": "inbox" },
            t.div({ className: "notify-pv-title" }, t.i({ className: "ri-inbox-line" }), " Inbox"),
            t.div(
                { className: "notify-inbox-item" },
                t.span({ className: "notify-inbox-dot" }),
                t.div(
                    null,
                    t.div({ className: "txt-bold" }, p.pushTitle || ""),
                    t.div(null, p.pushBody || ""),
                    p.pushUrl ? t.div({ className: "txt-sm link-primary" }, "Open →") : null,
                ),
            ),
        ),
        t.div(
            { className: "notify-pv notify-pv-sms", "html-data-channel": "sms" },
            t.div({ className: "notify-pv-title" }, t.i({ className: "ri-message-2-line" }), " SMS"),
            p.sms
                ? [
                    t.div(
                        { className: `label sm ${p.smsSegments > 1 ? "warning" : "success"} notify-sms-segments m-b-sm`, "html-data-segments": String(p.smsSegments) },
                        `${p.smsSegments} segment${p.smsSegments == 1 ? "" : "s"} · ${p.smsEncoding} · ${[...p.sms].length} chars`,
                    ),
                    t.div({ className: "notify-sms" }, p.sms),
                ]
                : t.div({ className: "txt-hint" }, "no SMS text"),
        ),
    );
    return t.div(
        { className: "notify-previews" },
        t.div(
            { className: "notify-pv notify-pv-email", "html-data-channel": "email" },
            t.div({ className: "notify-pv-title" }, t.i({ className: "ri-mail-line" }), " Email"),
            t.div({ className: "notify-pv-subject" }, t.strong(null, "Subject: "), p.subject || ""),
            t.div({ className: "txt-hint txt-sm" }, "Phone, 375 px"),
            frame("notify-email-phone", p.html || ""),
        ),
        others,
        t.div(
            { className: "notify-pv notify-pv-desktop", "html-data-channel": "email-desktop" },
            t.div({ className: "notify-pv-title" }, t.i({ className: "ri-computer-line" }), " Email on a desktop (800 px, scaled to fit)"),
            t.div(
                {
                    className: "notify-desktop-viewport",
                    onmount: (el) => {
                        // scale the 800 px window to the column's width
                        const fit = () => el.style.setProperty("--notifyScale", String(Math.min(1, el.clientWidth / 800)));
                        el._resize = new ResizeObserver(fit);
                        el._resize.observe(el);
                        fit();
                    },
                    onunmount: (el) => el._resize?.disconnect(),
                },
                frame("notify-email-desktop", p.html || ""),
            ),
            t.details(
                { className: "m-t-sm" },
                t.summary(null, "Plain text part"),
                t.pre({ className: "notify-pv-text" }, p.text || ""),
            ),
        ),
    );
}

// -------------------------------------------------------------------
// Per rule charts

function rulesView() {
    const data = store({ range: "7d", stats: null, error: "", loadedAt: 0 });

    async function load() {
        try {
            data.stats = await api(API + "/stats?range=" + data.range);
            data.error = "";
            data.loadedAt = Date.now();
        } catch (err) {
            if (!err.isAbort) data.error = err?.response?.message || err.message;
        }
    }
    load();
    // the charts scan the whole range: refresh them less often
    const live = liveMessages(load, 15000);

    return t.div(
        {
            className: "notify-rules",
            "html-data-loaded-at": () => String(data.loadedAt),
            onmount: live.onmount,
            onunmount: live.onunmount,
        },
        t.div(
            { className: "flex gap-10 m-b-sm" },
            t.div({ className: "txt-lg" }, "Messages per rule over time"),
            t.div({ className: "flex-fill" }),
            t.div(
                { className: "notify-range" },
                ["24h", "7d", "30d"].map((r) =>
                    t.button(
                        {
                            type: "button",
                            className: () => `btn sm ${data.range == r ? "" : "secondary transparent"}`,
                            "html-data-range": r,
                            onclick: () => {
                                data.range = r;
                                load();
                            },
                        },
                        r == "24h" ? "24 h" : r == "7d" ? "7 days" : "30 days",
                    )
                ),
            ),
        ),
        () => {
            if (data.error) return errorAlert(data.error);
            const st = data.stats;
            if (!st) return loader();
            const buckets = bucketsOf(st);
            const series = SERIES.filter((s) => !s.tracked || st.tracked[s.key]);
            const byRule = groupRows(st.rows, (r) => r.rule || "template:" + r.template);
            if (!byRule.size) {
                return t.div({ className: "alert info" }, "No messages in this range.");
            }
            // a reactive child's array is not flattened: one level only
            return [
                t.div(
                    { className: "notify-legend m-b-sm" },
                    series.map((s) => t.span({ className: "notify-legend-item" }, t.span({ className: "notify-swatch", style: `background:${s.color}` }), s.label)),
                    st.tracked.opened ? null : t.span({ className: "txt-hint txt-sm" }, "Opens and clicks show once the shop tracks them."),
                ),
                ...[...byRule.entries()].map(([key, rows]) => {
                    const name = key.startsWith("template:")
                        ? `${key.slice(9) || "(no template)"} (no rule: test sends and notify.Send)`
                        : st.rules[key] || key;
                    const totals = sumRows(rows, series);
                    const channels = groupRows(rows, (r) => r.channel);
                    const variants = groupRows(rows, (r) => r.variant || "A");
                    return t.div(
                        { className: "notify-rule-card", "html-data-rule": key },
                        t.div(
                            { className: "flex gap-10" },
                            t.strong(null, name),
                            t.div({ className: "flex-fill" }),
                            series.map((s) => t.span({ className: "label sm", "html-data-total": s.key }, `${s.label} ${totals[s.key]}`)),
                        ),
                        chart(buckets, rows, series, st.bucket),
                        t.table(
                            { className: "notify-breakdown m-t-sm" },
                            t.thead(
                                null,
                                t.tr(null, t.th(null, "Channel"), series.map((s) => t.th({ className: "txt-right" }, s.label)), t.th(null, "Over time")),
                            ),
                            t.tbody(
                                null,
                                [...channels.entries()].map(([ch, chRows]) => {
                                    const tot = sumRows(chRows, series);
                                    return t.tr(
                                        { "html-data-channel": ch },
                                        t.td(null, ch),
                                        series.map((s) => t.td({ className: "txt-right" }, String(tot[s.key]))),
                                        t.td({ className: "notify-spark-cell" }, chart(buckets, chRows, series, st.bucket, true)),
                                    );
                                }),
                                st.tracked.variant && variants.size > 1
                                    ? [...variants.entries()].map(([v, vRows]) => {
                                        const tot = sumRows(vRows, series);
                                        return t.tr(
                                            { "html-data-variant": v },
                                            t.td(null, "variant " + v),
                                            series.map((s) => t.td({ className: "txt-right" }, String(tot[s.key]))),
                                            t.td({ className: "notify-spark-cell" }, chart(buckets, vRows, series, st.bucket, true)),
                                        );
                                    })
                                    : null,
                            ),
                        ),
                    );
                }),
            ];
        },
    );
}

function groupRows(rows, keyFn) {
    const m = new Map();
    for (const r of rows) {
        const k = keyFn(r);
        if (!m.has(k)) m.set(k, []);
        m.get(k).push(r);
    }
    return m;
}

function sumRows(rows, series) {
    const out = {};
    for (const s of series) out[s.key] = rows.reduce((n, r) => n + (r[s.key] || 0), 0);
    return out;
}

// every bucket of the range, oldest first, in the server's UTC format
function bucketsOf(st) {
    const out = [];
    const from = parseDate(st.from), to = parseDate(st.to);
    const step = st.bucket == "hour" ? 3600e3 : 86400e3;
    const width = st.bucket == "hour" ? 13 : 10;
    for (let t0 = from.getTime(); t0 <= to.getTime() + step - 1; t0 += step) {
        const key = new Date(t0).toISOString().replace("T", " ").slice(0, width);
        if (out[out.length - 1] != key) out.push(key);
    }
    const last = st.to.slice(0, width);
    if (out[out.length - 1] != last) out.push(last);
    return out;
}

// A stacked bar chart (sent, failed, skipped per bucket) with lines for
// opened and clicked, drawn as inline SVG in the dashboard's colours.
function chart(buckets, rows, series, bucketKind, spark = false) {
    const W = spark ? 240 : 1000, H = spark ? 36 : 180, padL = spark ? 0 : 34, padB = spark ? 0 : 22, padT = spark ? 2 : 8;
    const per = buckets.map((b) => {
        const o = {};
        for (const s of series) o[s.key] = 0;
        for (const r of rows) if (r.bucket == b) for (const s of series) o[s.key] += r[s.key] || 0;
        return o;
    });
    const stacked = series.filter((s) => !s.tracked);
    const lines = series.filter((s) => s.tracked);
    const max = Math.max(1, ...per.map((o) => stacked.reduce((n, s) => n + o[s.key], 0)));
    const bw = (W - padL) / buckets.length;
    const y = (v) => H - padB - (v / max) * (H - padB - padT);
    let svg = `<svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" class="notify-chart${spark ? " spark" : ""}" role="img" aria-label="messages over time">`;
    if (!spark) {
        for (const frac of [0, 0.5, 1]) {
            const v = Math.round(max * frac), yy = y(v);
            svg += `<line x1="${padL}" x2="${W}" y1="${yy}" y2="${yy}" class="notify-grid"/>`;
            svg += `<text x="${padL - 6}" y="${yy + 4}" text-anchor="end" class="notify-axis">${v}</text>`;
        }
    }
    per.forEach((o, i) => {
        let base = 0;
        const x = padL + i * bw + bw * 0.15;
        const title = `${buckets[i]}${bucketKind == "hour" ? ":00" : ""} UTC — ` + series.map((s) => `${s.label} ${o[s.key]}`).join(", ");
        svg += `<g><title>${escapeXML(title)}</title>`;
        for (const s of stacked) {
            if (!o[s.key]) continue;
            const y1 = y(base + o[s.key]), y0 = y(base);
            svg += `<rect x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${(bw * 0.7).toFixed(1)}" height="${Math.max(0.5, y0 - y1).toFixed(1)}" style="fill:${s.color}" data-series="${s.key}" data-value="${o[s.key]}"/>`;
            base += o[s.key];
        }
        svg += `</g>`;
    });
    for (const s of lines) {
        const pts = per.map((o, i) => `${(padL + i * bw + bw / 2).toFixed(1)},${y(o[s.key]).toFixed(1)}`).join(" ");
        svg += `<polyline points="${pts}" fill="none" style="stroke:${s.color}" stroke-width="${spark ? 1 : 2}" data-series="${s.key}"/>`;
    }
    if (!spark) {
        const every = Math.ceil(buckets.length / 8);
        buckets.forEach((b, i) => {
            if (i % every) return;
            const label = bucketKind == "hour" ? b.slice(11, 13) + ":00" : b.slice(5);
            svg += `<text x="${(padL + i * bw + bw / 2).toFixed(1)}" y="${H - 6}" text-anchor="middle" class="notify-axis">${label}</text>`;
        });
    }
    svg += `</svg>`;
    return t.div({ className: spark ? "notify-spark" : "notify-chart-wrap", innerHTML: svg });
}

// -------------------------------------------------------------------
// Rule simulator

function simulatorView() {
    const data = store({
        rules: null,
        error: "",
        collection: "",
        recordId: "",
        recordLabel: "",
        event: "update",
        changes: "{\n  \"status\": \"shipped\"\n}",
        running: false,
        result: null,
        resultError: "",
        get collections() {
            return [...new Set((data.rules || []).map((r) => r.collection))].sort();
        },
    });

    (async () => {
        try {
            data.rules = await app.pb.collection("notifyRules").getFullList({ fields: "id,collection", requestKey: null });
            data.collection = data.collections.includes("orders") ? "orders" : data.collections[0] || "";
        } catch (err) {
            if (!err.isAbort) data.error = err?.response?.message || err.message;
        }
    })();

    async function run() {
        data.running = true;
        data.resultError = "";
        data.result = null;
        let changes;
        if (data.event == "update") {
            try {
                changes = data.changes.trim() ? JSON.parse(data.changes) : {};
            } catch (err) {
                data.resultError = "The changes must be a JSON object, e.g. {\"status\": \"shipped\"}: " + err.message;
                data.running = false;
                return;
            }
        }
        try {
            data.result = await api(API + "/simulate", {
                method: "POST",
                body: { collection: data.collection, record: data.recordId.trim(), event: data.event, changes },
            });
        } catch (err) {
            if (!err.isAbort) data.resultError = err?.response?.message || err.message;
        }
        data.running = false;
    }

    return t.div(
        { className: "notify-simulator" },
        t.p({ className: "txt-hint" }, "Pick a record and an event: see which rules would fire, to whom, on which channels, and why the others would not. Nothing is written or sent."),
        () => {
            if (data.error) return errorAlert(data.error);
            if (!data.rules) return loader();
            return t.form(
                {
                    className: "grid",
                    onsubmit: (e) => {
                        e.preventDefault();
                        run();
                    },
                },
                t.div(
                    { className: "col-lg-3" },
                    t.div(
                        { className: "field" },
                        t.label({ htmlFor: "notify-sim-collection" }, "Collection"),
                        t.select(
                            {
                                id: "notify-sim-collection",
                                value: () => data.collection,
                                onchange: (e) => {
                                    data.collection = e.target.value;
                                    data.recordId = "";
                                    data.recordLabel = "";
                                },
                            },
                            () => data.collections.map((c) => t.option({ value: c, selected: c == data.collection }, c)),
                        ),
                    ),
                ),
                t.div(
                    { className: "col-lg-5" },
                    t.div(
                        { className: "field" },
                        t.label({ htmlFor: "notify-sim-record" }, "Record id"),
                        t.div(
                            { className: "flex gap-10" },
                            t.input({
                                id: "notify-sim-record",
                                type: "text",
                                required: true,
                                value: () => data.recordId,
                                oninput: (e) => (data.recordId = e.target.value),
                            }),
                            t.button(
                                {
                                    type: "button",
                                    className: "btn secondary",
                                    onclick: () =>
                                        app.modals.openRecordsPicker({
                                            collection: data.collection,
                                            maxSelect: 1,
                                            btnText: "Simulate with this record",
                                            onselect: (records) => {
                                                data.recordId = records?.[0]?.id || "";
                                            },
                                        }),
                                },
                                "Pick",
                            ),
                        ),
                    ),
                ),
                t.div(
                    { className: "col-lg-4" },
                    t.div(
                        { className: "field" },
                        t.label({ htmlFor: "notify-sim-event" }, "Event"),
                        t.select(
                            { id: "notify-sim-event", value: () => data.event, onchange: (e) => (data.event = e.target.value) },
                            ["create", "update", "delete"].map((ev) => t.option({ value: ev, selected: ev == data.event }, ev)),
                        ),
                    ),
                ),
                () => data.event == "update"
                    ? t.div(
                        { className: "col-lg-12" },
                        t.div(
                            { className: "field" },
                            t.label({ htmlFor: "notify-sim-changes" }, "Changes (JSON: the fields the update sets)"),
                            app.components.codeEditor({
                                id: "notify-sim-changes",
                                language: "json",
                                value: () => data.changes,
                                oninput: (v) => (data.changes = v),
                            }),
                        ),
                    )
                    : null,
                t.div(
                    { className: "col-lg-12" },
                    t.button(
                        { type: "submit", className: () => `btn notify-sim-run ${data.running ? "loading" : ""}`, disabled: () => data.running },
                        t.i({ className: "ri-flask-line", ariaHidden: true }),
                        t.span({ className: "txt" }, "Simulate"),
                    ),
                ),
            );
        },
        () => {
            if (data.resultError) return t.div({ className: "alert danger m-t-base" }, data.resultError);
            const r = data.result;
            if (!r) return;
            if (!r.rules.length) return t.div({ className: "alert info m-t-base" }, `No rule watches ${r.collection}.`);
            return t.div(
                { className: "notify-sim-result m-t-base" },
                r.rules.map((v) =>
                    t.div(
                        { className: `notify-verdict ${v.fires ? "fires" : ""}`, "html-data-rule": v.name },
                        t.div(
                            { className: "flex gap-10" },
                            v.fires ? t.span({ className: "label success" }, "fires") : t.span({ className: "label" }, "does not fire"),
                            t.strong(null, v.name),
                            t.span({ className: "txt-hint txt-sm" }, `${v.event} → ${v.template}`),
                        ),
                        v.reason ? t.div({ className: "txt-hint m-t-5 notify-verdict-reason" }, "Why not: " + v.reason) : null,
                        v.note ? t.div({ className: "txt-sm m-t-5" }, v.note) : null,
                        v.recipients.map((rc) =>
                            t.div(
                                { className: "notify-recipient m-t-5" },
                                t.span({ className: "txt-bold" }, rc.label),
                                rc.channels.map((c) =>
                                    t.span(
                                        {
                                            className: `label sm ${c.queued && !c.reason ? "success" : c.queued ? "warning" : ""}`,
                                            ariaDescription: c.reason ? app.attrs.tooltip(c.reason) : undefined,
                                            "html-data-channel": c.channel,
                                        },
                                        c.channel + (c.reason ? ": " + c.reason : ""),
                                    )
                                ),
                            )
                        ),
                    )
                ),
            );
        },
    );
}
