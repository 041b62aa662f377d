"""The teleworker portal's pages (A4, E23): French, or Arabic right to left, chosen from the
browser's Accept-Language; readable on a phone. Jinja templates rendered with Flask's
``render_template_string``, whose autoescape turns every string from outside (a login, a
device name, a gate's answer) into text; the one piece of markup handed in, the QR code,
is drawn here from the QR matrix. And the same strings as values of the journal's
key=value lines: made printable, quoted when not plain (A3)."""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
from typing import Any

import qrcode  # type: ignore[import-untyped]  # Debian's python3-qrcode, SVG drawn below
from flask import render_template_string
from markupsafe import Markup, escape

#: Longest value from outside written to a log line.
MAX_LOGGED = 64

# --- text from outside in log lines (the rules of toolkit/text.py's printable) ----------

_UNSAFE = frozenset({"Cc", "Zl", "Zp", "Cs", "Cn", "Cf"})
_FIELD = re.compile(r"[A-Za-z0-9._:@/+-]{1,64}")


def printable(value: object) -> str:
    """``value`` with every control, separator, format (bidi) character, lone surrogate
    and non-character shown as a visible escape (``\\x1b``, ``\\u202e``)."""
    out = []
    for ch in value if isinstance(value, str) else str(value):
        code = ord(ch)
        if unicodedata.category(ch) in _UNSAFE or ch in "\ufffe\uffff":
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
            )
        else:
            out.append(ch)
    return "".join(out)


def field(value: object) -> str:
    """One value of a key=value log line: as it is when plain (a login, an address), else
    made printable, cut and quoted as JSON: no value can add a field or a line."""
    text = value if isinstance(value, str) else str(value)
    if _FIELD.fullmatch(text):
        return text
    return json.dumps(printable(text[:MAX_LOGGED]), ensure_ascii=False)


# --- pages -----------------------------------------------------------------------------

TEXT: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Portail du télétravail",
        "login": "Connexion",
        "user": "Identifiant",
        "password": "Mot de passe",
        "code": "Code à 6 chiffres",
        "code_hint": "Le code affiché par votre application d'authentification, "
        "ou l'un de vos codes de secours.",
        "submit": "Se connecter",
        "failed": "Identifiant, mot de passe ou code refusé.",
        "no_access": "Aucun accès au télétravail avec ce compte : voyez votre administration.",
        "throttled": "Trop d'essais infructueux. Réessayez dans quelques minutes.",
        "unavailable": "L'annuaire ne répond pas. Réessayez plus tard.",
        "bad_form": "Formulaire expiré ou invalide : rechargez la page.",
        "expired": "Votre session a expiré : reconnectez-vous.",
        "enrol": "Activer la double authentification",
        "enrol_help": "Scannez ce QR code avec votre application d'authentification "
        "(ou saisissez la clé ci-dessous), puis entrez le code à 6 chiffres qu'elle affiche.",
        "secret": "Clé :",
        "confirm": "Confirmer",
        "enrol_outside": "L'activation de la double authentification se fait uniquement "
        "depuis le réseau de l'administration.",
        "enrol_expired": "L'activation a expiré : reconnectez-vous pour recommencer.",
        "enrol_failed": "Code refusé : vérifiez l'heure de votre téléphone et réessayez.",
        "recovery": "Vos codes de secours",
        "recovery_help": "Notez ces codes et gardez-les en lieu sûr : chacun remplace une "
        "seule fois le code à 6 chiffres si vous perdez votre téléphone. Ils ne seront "
        "plus jamais affichés.",
        "continue": "Continuer",
        "hello": "Connecté(e) :",
        "device": "Votre poste",
        "device_is": "Poste :",
        "no_device": "Cette connexion ne passe pas par le VPN d'un poste de télétravail.",
        "other_device": "Ce poste n'est pas le vôtre.",
        "not_gated": "Votre accès ne demande pas de confirmation du début du travail.",
        "open_until": "Travail en cours jusqu'à",
        "no_session": "Aucun travail en cours.",
        "start": "Commencer le travail",
        "end": "Terminer le travail",
        "logout": "Se déconnecter",
        "started": "Travail commencé. Fin prévue :",
        "ended": "Travail terminé.",
        "nothing_open": "Aucun travail en cours à terminer.",
        "recovery_left": "Code de secours utilisé. Codes restants :",
        "e_not-your-device": "Ce poste n'est pas le vôtre : commencez le travail depuis "
        "votre propre poste de télétravail.",
        "e_unknown-address": "Cette connexion ne vient pas d'un poste de télétravail connu.",
        "e_not-gated": "Votre accès ne demande pas de confirmation du début du travail.",
        "e_outside-schedule": "Vous êtes en dehors de vos horaires de télétravail.",
        "e_firewall": "L'ouverture de l'accès a échoué. Prévenez le support.",
        "e_unavailable": "Le service est momentanément indisponible. Réessayez plus tard.",
        "back": "Retour",
    },
    "ar": {
        "title": "بوابة العمل عن بعد",
        "login": "تسجيل الدخول",
        "user": "اسم المستخدم",
        "password": "كلمة المرور",
        "code": "الرمز المكوّن من 6 أرقام",
        "code_hint": "الرمز الذي يعرضه تطبيق المصادقة، أو أحد رموزك الاحتياطية.",
        "submit": "دخول",
        "failed": "اسم المستخدم أو كلمة المرور أو الرمز غير مقبول.",
        "no_access": "لا يخول هذا الحساب العمل عن بعد: راجع إدارتك.",
        "throttled": "محاولات فاشلة كثيرة. أعد المحاولة بعد بضع دقائق.",
        "unavailable": "الدليل لا يستجيب. أعد المحاولة لاحقاً.",
        "bad_form": "انتهت صلاحية النموذج أو أنه غير صالح: أعد تحميل الصفحة.",
        "expired": "انتهت جلستك: سجّل الدخول من جديد.",
        "enrol": "تفعيل المصادقة الثنائية",
        "enrol_help": "امسح رمز QR هذا بتطبيق المصادقة (أو أدخل المفتاح أدناه)، ثم أدخل "
        "الرمز المكوّن من 6 أرقام الذي يعرضه.",
        "secret": "المفتاح:",
        "confirm": "تأكيد",
        "enrol_outside": "لا يتم تفعيل المصادقة الثنائية إلا من شبكة الإدارة.",
        "enrol_expired": "انتهت مهلة التفعيل: سجّل الدخول من جديد للبدء مرة أخرى.",
        "enrol_failed": "الرمز مرفوض: تحقّق من ساعة هاتفك وأعد المحاولة.",
        "recovery": "رموزك الاحتياطية",
        "recovery_help": "دوّن هذه الرموز واحفظها في مكان آمن: يحلّ كل منها مرة واحدة فقط "
        "محل الرمز المكوّن من 6 أرقام إذا فقدت هاتفك. لن تُعرض مرة أخرى.",
        "continue": "متابعة",
        "hello": "متصل:",
        "device": "جهازك",
        "device_is": "الجهاز:",
        "no_device": "هذا الاتصال لا يمر عبر الشبكة الخاصة الافتراضية لجهاز عمل عن بعد.",
        "other_device": "هذا الجهاز ليس جهازك.",
        "not_gated": "لا يتطلب وصولك تأكيد بداية العمل.",
        "open_until": "العمل جارٍ حتى",
        "no_session": "لا يوجد عمل جارٍ.",
        "start": "بدء العمل",
        "end": "إنهاء العمل",
        "logout": "تسجيل الخروج",
        "started": "بدأ العمل. النهاية المتوقعة:",
        "ended": "انتهى العمل.",
        "nothing_open": "لا يوجد عمل جارٍ لإنهائه.",
        "recovery_left": "تم استعمال رمز احتياطي. الرموز المتبقية:",
        "e_not-your-device": "هذا الجهاز ليس جهازك: ابدأ العمل من جهاز العمل عن بعد الخاص بك.",
        "e_unknown-address": "هذا الاتصال لا يأتي من جهاز عمل عن بعد معروف.",
        "e_not-gated": "لا يتطلب وصولك تأكيد بداية العمل.",
        "e_outside-schedule": "أنت خارج أوقات العمل عن بعد المحددة لك.",
        "e_firewall": "تعذّر فتح الوصول. أخبر فريق الدعم.",
        "e_unavailable": "الخدمة غير متاحة مؤقتاً. أعد المحاولة لاحقاً.",
        "back": "رجوع",
    },
}

#: The stylesheet, served by the app at /portal.css (no inline style: the CSP forbids it).
CSS = """
*{box-sizing:border-box}
body{margin:0;font:1.05rem/1.5 system-ui,"Noto Sans","Noto Sans Arabic",sans-serif;
color:#1b1b1b;background:#f3f5f8}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.5rem 0 1rem;color:#0b3d75}
h2{font-size:1.15rem}
form{margin:0 0 1rem}
label{display:block;margin:0 0 .8rem;font-weight:600}
input{display:block;width:100%;margin-top:.3rem;padding:.7rem;font-size:1.1rem;
border:1px solid #8a94a3;border-radius:.4rem;background:#fff}
button,.button{display:block;width:100%;padding:.8rem;font-size:1.1rem;font-weight:600;
border:0;border-radius:.4rem;background:#0b5cad;color:#fff;text-align:center;
text-decoration:none;cursor:pointer}
button.secondary{background:#5a6472}
button.link{background:none;color:#0b5cad;text-decoration:underline}
.note{padding:.7rem;border-radius:.4rem;background:#e6eef8}
.error{background:#fbe3e3;color:#7a1010}
.ok{background:#e2f3e5;color:#14501f}
.hint{font-size:.9rem;color:#4a5361;margin-top:-.5rem}
.qr svg{display:block;width:100%;max-width:16rem;height:auto;margin:0 auto}
code{font-size:1.05rem;word-break:break-all}
.codes{columns:2 15rem;padding-inline-start:1.5rem}.codes code{white-space:nowrap}
section{background:#fff;border-radius:.5rem;padding:1rem;margin:0 0 1rem}
"""

HEAD = """<!DOCTYPE html>
<html lang="{{ lang }}" dir="{{ 'rtl' if lang == 'ar' else 'ltr' }}"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.title }}</title><link rel="stylesheet" href="/portal.css"></head>
<body><main><h1>{{ t.title }}</h1>
{% if note %}<p class="note {{ tone }}" role="alert">{{ t[note] }}
{%- if detail %} <b dir="ltr">{{ detail }}</b>{% endif %}</p>{% endif %}
"""
FOOT = "</main></body></html>\n"

LOGIN = """<h2>{{ t.login }}</h2>
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label>{{ t.user }}<input name="username" value="{{ login }}" autocomplete="username"
 autocapitalize="none" spellcheck="false" dir="ltr" required></label>
<label>{{ t.password }}<input name="password" type="password"
 autocomplete="current-password" dir="ltr" required></label>
<label>{{ t.code }}<input name="code" inputmode="numeric" autocomplete="one-time-code"
 maxlength="24" dir="ltr"></label>
<p class="hint">{{ t.code_hint }}</p>
<button type="submit">{{ t.submit }}</button></form>
"""

ENROL = """<h2>{{ t.enrol }}</h2><p>{{ t.enrol_help }}</p>
<figure class="qr">{{ qr }}</figure>
<p>{{ t.secret }} <code class="secret" dir="ltr">{{ secret }}</code></p>
<form method="post" action="/enrol">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label>{{ t.code }}<input name="code" inputmode="numeric" autocomplete="one-time-code"
 maxlength="8" dir="ltr" required></label>
<button type="submit">{{ t.confirm }}</button></form>
"""

RECOVERY = """<h2>{{ t.recovery }}</h2><p>{{ t.recovery_help }}</p>
<ol class="codes" dir="ltr">{% for code in codes %}<li><code>{{ code }}</code></li>
{% endfor %}</ol>
<p><a class="button" href="/">{{ t.continue }}</a></p>
"""

HOME = """<p>{{ t.hello }} <b dir="ltr">{{ user }}</b></p>
<section><h2>{{ t.device }}</h2>
{% if device %}<p>{{ t.device_is }} <b dir="ltr">{{ device }}</b></p>
{% elif device_note %}<p>{{ t[device_note] }}</p>{% endif %}
{% for s in sessions %}<p>{{ t.open_until }}
 <b dir="ltr"><time datetime="{{ s.iso }}">{{ s.ends }}</time></b>
 (<span dir="ltr">{{ s.device }}</span>)</p>
{% else %}<p>{{ t.no_session }}</p>{% endfor %}
<form method="post" action="/start">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button type="submit">{{ t.start }}</button></form>
<form method="post" action="/end">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button type="submit" class="secondary">{{ t.end }}</button></form></section>
<form method="post" action="/logout">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button type="submit" class="link">{{ t.logout }}</button></form>
"""

MESSAGE = """<p><a class="button" href="/">{{ t.back }}</a></p>
"""

TEMPLATES = {
    name: HEAD + body + FOOT
    for name, body in {
        "login": LOGIN,
        "enrol": ENROL,
        "recovery": RECOVERY,
        "home": HOME,
        "message": MESSAGE,
    }.items()
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


def render(name: str, lang: str, **context: Any) -> str:
    """The page ``name`` in ``lang``, every value of ``context`` escaped by Jinja unless it
    is Markup (the QR code only)."""
    context.setdefault("note", "")
    context.setdefault("tone", "")
    context.setdefault("detail", "")
    return render_template_string(TEMPLATES[name], t=TEXT[lang], lang=lang, **context)


def when(iso: object) -> str:
    """An ISO 8601 time from the gate as ``27/11/2026 16:30`` (the gate's own zone), or the
    text itself when it is not one (Jinja escapes it anyway)."""
    try:
        return datetime.datetime.fromisoformat(str(iso)).strftime("%d/%m/%Y %H:%M")
    except ValueError:
        return str(iso)[:40]


def qr_svg(uri: str, label: str) -> Markup:
    """The QR code of ``uri`` as an inline SVG: one path of unit squares drawn from the
    code's matrix (the same with every python3-qrcode version, no image library)."""
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(uri)
    qr.make(fit=True)
    matrix: list[list[bool]] = qr.get_matrix()
    size = len(matrix)
    path = "".join(
        f"M{x} {y}h1v1h-1z" for y, row in enumerate(matrix) for x, on in enumerate(row) if on
    )
    return Markup(  # noqa: S704  (numbers only, and the escaped label)
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'role="img" aria-label="{escape(label)}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )
