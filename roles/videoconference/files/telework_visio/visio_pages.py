"""The meeting application's pages (M6): French, or Arabic right to left, chosen from the
browser's Accept-Language; the login page, the meeting page and its recording controls
(A14). Every text from outside reaches them through html.escape or JSON with ``<``
escaped."""

from __future__ import annotations

import html
import json

# --- languages ----------------------------------------------------------------------

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Visioconférence de l'administration",
        "login": "Connexion",
        "user": "Identifiant",
        "password": "Mot de passe",
        "submit": "Se connecter",
        "failed": "Identifiant ou mot de passe refusé.",
        "room": "Nom de la réunion",
        "pin": "Code PIN (facultatif)",
        "join": "Ouvrir ou rejoindre",
        "leave": "Quitter",
        "logout": "Se déconnecter",
        "hello": "Connecté(e) :",
        "recording": "Enregistrement désactivé par l'administration.",
        "recording_rule": "Une réunion n'est enregistrée qu'avec le consentement préalable de "
        "chaque participant présent.",
        "consent": "Je consens à l'enregistrement de cette réunion",
        "withdraw": "Je retire mon consentement",
        "start": "Démarrer l'enregistrement",
        "stop": "Arrêter l'enregistrement",
        "on_air": "● Enregistrement en cours",
        "consented": "Vous avez consenti à l'enregistrement de cette réunion.",
        "consent_missing": "Enregistrement refusé : tous les participants n'ont pas donné "
        "leur consentement. En attente de :",
        "consent_required": "Cette réunion est en cours d'enregistrement : donnez d'abord "
        "votre consentement pour la rejoindre.",
        "recording_off": "L'enregistrement est désactivé par l'administration.",
        "not_participant": "Rejoignez d'abord la réunion.",
        "janus": "Le serveur de réunion n'a pas répondu.",
        "others": "Participants",
        "me": "vous",
    },
    "ar": {
        "title": "منصة الاجتماعات المرئية للإدارة",
        "login": "تسجيل الدخول",
        "user": "اسم المستخدم",
        "password": "كلمة المرور",
        "submit": "دخول",
        "failed": "اسم المستخدم أو كلمة المرور غير مقبولين.",
        "room": "اسم الاجتماع",
        "pin": "الرمز السري (اختياري)",
        "join": "فتح الاجتماع أو الانضمام إليه",
        "leave": "مغادرة",
        "logout": "تسجيل الخروج",
        "hello": "متصل:",
        "recording": "التسجيل معطل من طرف الإدارة.",
        "recording_rule": "لا يُسجَّل الاجتماع إلا بموافقة مسبقة من كل مشارك حاضر.",
        "consent": "أوافق على تسجيل هذا الاجتماع",
        "withdraw": "أسحب موافقتي",
        "start": "بدء التسجيل",
        "stop": "إيقاف التسجيل",
        "on_air": "● التسجيل جارٍ",
        "consented": "لقد وافقت على تسجيل هذا الاجتماع.",
        "consent_missing": "رُفض التسجيل: لم يوافق جميع المشاركين بعد. في انتظار:",
        "consent_required": "هذا الاجتماع قيد التسجيل: وافق أولاً على التسجيل لتنضم إليه.",
        "recording_off": "التسجيل معطل من طرف الإدارة.",
        "not_participant": "انضم إلى الاجتماع أولاً.",
        "janus": "لم يستجب خادم الاجتماعات.",
        "others": "المشاركون",
        "me": "أنت",
    },
}


def language(accept: str) -> str:
    """``ar`` or ``fr`` (the default) by the first of the two in Accept-Language's order."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in TEXT and q > 0:
            ranked.append((-q, i, primary))
    return sorted(ranked)[0][2] if ranked else "fr"


def page(lang: str, body: str) -> bytes:
    t = TEXT[lang]
    direction = "rtl" if lang == "ar" else "ltr"
    return (
        f'<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(t['title'])}</title>"
        f'<link rel="stylesheet" href="/static/meeting.css"></head>'
        f"<body><h1>{html.escape(t['title'])}</h1>{body}</body></html>"
    ).encode()


def login_page(lang: str, failed: bool = False) -> bytes:
    t = TEXT[lang]
    error = f'<p class="error" role="alert">{html.escape(t["failed"])}</p>' if failed else ""
    return page(
        lang,
        f"<h2>{html.escape(t['login'])}</h2>{error}"
        f'<form method="post" action="/login" id="login">'
        f'<label>{html.escape(t["user"])} <input name="username" autocomplete="username" '
        f'required></label><label>{html.escape(t["password"])} <input name="password" '
        f'type="password" autocomplete="current-password" required></label>'
        f'<button type="submit">{html.escape(t["submit"])}</button></form>',
    )


#: Texts the page's script shows (the API's refusal codes among them).
SCRIPT_TEXT = (
    "leave", "others", "me", "consent", "withdraw", "consented", "consent_missing",
    "consent_required", "recording_off", "not_participant", "janus",
)  # fmt: skip


def recording_controls(lang: str, enabled: bool) -> str:
    """The consent button, start and stop, the indicator and the refusal line (A14)."""
    t = TEXT[lang]
    if not enabled:
        return f'<p class="note">{html.escape(t["recording"])}</p>'
    esc = {k: html.escape(t[k]) for k in ("recording_rule", "consent", "start", "stop", "on_air")}
    return (
        f'<section id="recording" data-enabled="1"><p class="note">{esc["recording_rule"]}</p>'
        f'<p id="rec-indicator" class="on-air" role="status" hidden>{esc["on_air"]}</p>'
        f'<button type="button" id="consent" aria-pressed="false">{esc["consent"]}</button> '
        f'<button type="button" id="record-start" hidden>{esc["start"]}</button> '
        f'<button type="button" id="record-stop" hidden>{esc["stop"]}</button>'
        f'<p id="consent-state" class="note"></p>'
        f'<p id="rec-error" class="error" role="alert" hidden></p></section>'
    )


def meeting_page(lang: str, uid: str, recording: bool = False) -> bytes:
    t = TEXT[lang]
    labels = json.dumps({k: t[k] for k in SCRIPT_TEXT}, ensure_ascii=False).replace("<", "\\u003c")
    return page(
        lang,
        f'<div class="who">{html.escape(t["hello"])} <b id="me">{html.escape(uid)}</b> '
        f'<form method="post" action="/logout" class="inline"><button>'
        f"{html.escape(t['logout'])}</button></form></div>"
        f'<form id="join"><label>{html.escape(t["room"])} <input name="room" required '
        f'pattern="[a-z0-9][a-z0-9-]{{0,39}}"></label><label>{html.escape(t["pin"])} '
        f'<input name="pin" inputmode="numeric" pattern="[0-9]{{4,12}}"></label>'
        f'<button type="submit">{html.escape(t["join"])}</button></form>'
        f"{recording_controls(lang, recording)}"
        f'<div id="status" role="status"></div><div id="videos"></div>'
        f"<script>window.VISIO_TEXT = {labels};</script>"
        f'<script src="/js/adapter.min.js"></script><script src="/js/janus.js"></script>'
        f'<script src="/static/meeting.js"></script>',
    )
