"""The web app's routes: sign-in, search, golden records, the review queue, the
duplicate report and the status page, all under `/app/`.

Every page needs a session (an anonymous request is sent to the sign-in page); every
form carries the session's CSRF token, checked before anything is written; deciding
needs the `steward` role. Jinja2 escapes every value it renders.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from core.catalogue import CATALOGUE
from core.settings import ORG_KEY_PATTERN, Settings
from steward_app import charts, sessions, store
from steward_app.users import authenticate, find_user
from warehouse.steward import (
    Decision,
    DecisionError,
    record_decision,
    skip_pair,
    undo_decision,
)

log = logging.getLogger("org360.app")

PREFIX = "/app"
_HERE = Path(__file__).parent
_LOGIN_CSRF = "org360_login_csrf"
ACTIONS = {"match": "Match", "no_match": "Not a match", "skip": "Skip"}


# Single sign-on: the header a reverse proxy in front of org360 sets to the signed-in
# person's e-mail (off unless set; the proxy must drop the header from clients).
SSO_HEADER_VAR = "ORG360_APP_SSO_HEADER"


@dataclass(frozen=True)
class AppConfig:
    engine: Engine
    settings: Settings
    dagster_url: str = "/dagster/"
    sso_header: str | None = None

    @classmethod
    def from_env(cls, engine: Engine, settings: Settings) -> AppConfig:
        header = os.environ.get(SSO_HEADER_VAR, "").strip() or None
        return cls(engine, settings, sso_header=header)

    @property
    def instance_urls(self) -> dict[str, str]:
        return {o.key: o.instance_url for o in self.settings.orgs if o.instance_url}


def create_app(config: AppConfig) -> Starlette:
    templates = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
    )
    templates.globals.update(prefix=PREFIX, actions=ACTIONS, dagster_url=config.dagster_url)
    templates.filters["money"] = lambda v: "—" if v is None else f"{v:,.0f}"
    engine = config.engine

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = request.scope.get("org360_session")
        context.setdefault("message", request.query_params.get("message"))
        body = templates.get_template(name).render(
            request=request, session=session, user=session.user if session else None, **context
        )
        return HTMLResponse(body, status_code=status, headers=_NO_STORE)

    def page(role: str = "viewer", form: bool = False) -> Callable:
        """A route that needs a session with `role`; `form`: a POST whose CSRF token
        must be the session's."""

        def wrap(handler: Callable) -> Callable:
            async def endpoint(request: Request) -> Response:
                data = await request.form() if form else None
                # The handlers query the database: in a worker thread, so that one
                # slow page never holds up the others.
                return await anyio.to_thread.run_sync(guarded, request, data)

            def guarded(request: Request, data: Any) -> Response:
                token = request.cookies.get(sessions.COOKIE)
                session = sessions.find_session(engine, token)
                opened = None
                if session is None and config.sso_header and request.method == "GET":
                    # Signed in by the proxy: a user org360 knows gets a session.
                    user = find_user(engine, request.headers.get(config.sso_header, ""))
                    if user is not None:
                        opened = sessions.open_session(engine, user)
                        session = sessions.find_session(engine, opened)
                if session is None:
                    if request.method != "GET":
                        return _forbidden("your session has ended: sign in again")
                    there = urlencode({"next": request.url.path + _query(request)})
                    return RedirectResponse(f"{PREFIX}/login?{there}", status_code=303)
                request.scope["org360_session"] = session
                if form:
                    if not session.csrf_ok(data.get("csrf")):
                        return _forbidden("the form is out of date or forged: reload the page")
                    request.scope["org360_form"] = data
                if not session.user.may(role):
                    return render(
                        request,
                        "error.html",
                        403,
                        message=f"Your role ({session.user.role}) cannot do this: it needs {role}.",
                    )
                response = handler(request)
                if opened is not None:
                    _session_cookie(response, request, opened)
                return response

            return endpoint

        return wrap

    async def login_page(request: Request) -> Response:
        csrf = secrets.token_urlsafe(24)
        response = render(
            request, "login.html", csrf=csrf, next=_safe_next(request.query_params.get("next"))
        )
        response.set_cookie(
            _LOGIN_CSRF, csrf, httponly=True, samesite="strict", secure=_https(request), path=PREFIX
        )
        return response

    async def login(request: Request) -> Response:
        data = await request.form()
        cookie = request.cookies.get(_LOGIN_CSRF)
        if not cookie or not secrets.compare_digest(cookie, str(data.get("csrf", ""))):
            return _forbidden("the sign-in form is out of date or forged: reload the page")
        user = await anyio.to_thread.run_sync(
            authenticate, engine, str(data.get("email", "")), str(data.get("password", ""))
        )
        target = _safe_next(data.get("next"))
        if user is None:
            log.info("sign-in refused")
            csrf = secrets.token_urlsafe(24)
            response = render(
                request,
                "login.html",
                401,
                csrf=csrf,
                next=target,
                error="That e-mail and password do not match a user.",
                email=data.get("email", ""),
            )
            response.set_cookie(
                _LOGIN_CSRF,
                csrf,
                httponly=True,
                samesite="strict",
                secure=_https(request),
                path=PREFIX,
            )
            return response
        log.info("signed in: %s", user.email)
        response = RedirectResponse(target, status_code=303)
        token = await anyio.to_thread.run_sync(sessions.open_session, engine, user)
        _session_cookie(response, request, token)
        response.delete_cookie(_LOGIN_CSRF, path=PREFIX)
        return response

    @page(form=True)
    def logout(request: Request) -> Response:
        sessions.close_session(engine, request.cookies.get(sessions.COOKIE))
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response

    @page()
    def home(request: Request) -> Response:
        q = request.query_params.get("q", "")
        hits = store.search(engine, q) if q else []
        return render(request, "search.html", q=q, hits=hits, searched=bool(q))

    @page()
    def record(request: Request) -> Response:
        obj, golden_id = request.path_params["object"], request.path_params["golden_id"]
        if obj not in CATALOGUE or not golden_id.isalnum():
            return render(request, "error.html", 404, message="No such record.")
        found = store.golden_record(engine, obj, golden_id, config.instance_urls)
        if found is None:
            return render(
                request,
                "error.html",
                404,
                message=f"No golden {obj} {golden_id}: it may have merged into another "
                "since (search for it again).",
            )
        return render(request, "record.html", record=found, spec=found.spec)

    @page()
    def review(request: Request) -> Response:
        chosen = _filter(request)
        offset = max(0, _int(request.query_params.get("offset"), 0))
        pairs, total = store.review_pairs(engine, chosen, config.instance_urls, offset)
        objects, org_pairs = store.review_choices(engine)
        return render(
            request,
            "review.html",
            pairs=pairs,
            total=total,
            offset=offset,
            page=store.REVIEW_PAGE,
            chosen=chosen,
            objects=objects,
            org_pairs=org_pairs,
            bands=store.BANDS,
            query=_query(request),
            message=request.query_params.get("message"),
            bulk_limit=store.BULK_LIMIT,
        )

    @page(role="steward", form=True)
    def decide(request: Request) -> Response:
        data = request.scope["org360_form"]
        action = str(data.get("action", ""))
        note = str(data.get("note", "")).strip() or None
        row = store.review_row(engine, str(data.get("review_id", "")))
        back = f"{PREFIX}/review{_back(data)}"
        if row is None or action not in ACTIONS:
            return _redirect(back, "That pair is no longer in the queue.")
        message = _act(row, action, request.scope["org360_session"].user.email, note)
        return _redirect(back, message)

    @page(role="steward", form=True)
    def bulk(request: Request) -> Response:
        data = request.scope["org360_form"]
        action = str(data.get("action", ""))
        chosen = store.ReviewFilter(
            object=str(data.get("object") or "") or None,
            orgs=_orgs(str(data.get("orgs") or "")),
            band=str(data.get("band") or "") or None,
        )
        back = f"{PREFIX}/review{_back(data)}"
        if action not in ("match", "no_match"):
            return _redirect(back, "Choose Match or Not a match for the selection.")
        if chosen.object is None:
            return _redirect(back, "Choose one object before deciding a selection.")
        by = request.scope["org360_session"].user.email
        done, refused = 0, []
        for row in store.review_rows(engine, chosen):
            try:
                _record(row, action, by, str(data.get("note", "")).strip() or None)
                done += 1
            except DecisionError as error:
                refused.append(str(error))
        message = f"{done} pairs decided: {ACTIONS[action]}."
        if refused:
            message += f" {len(refused)} refused: {refused[0]}"
        return _redirect(back, message)

    @page(role="steward", form=True)
    def undo(request: Request) -> Response:
        data = request.scope["org360_form"]
        pair = _pair_from(data)
        back = str(data.get("back") or f"{PREFIX}/history")
        if not back.startswith(PREFIX + "/"):
            back = f"{PREFIX}/history"
        if pair is None:
            return _redirect(back, "That pair is not one org360 knows.")
        obj, a, b = pair
        try:
            standing = undo_decision(engine, obj, a, b, request.scope["org360_session"].user.email)
        except DecisionError as error:
            return _redirect(back, str(error))
        now = ACTIONS.get(standing or "", "no decision")
        return _redirect(back, f"Undone: the pair now has {now}; the next run applies it.")

    @page(role="steward", form=True)
    def separate(request: Request) -> Response:
        """A member that is not the same as the others: not-a-match with each of them,
        so the next run takes it out of the golden record."""
        data = request.scope["org360_form"]
        obj, golden_id = str(data.get("object", "")), str(data.get("golden_id", ""))
        if obj not in CATALOGUE or not golden_id.isalnum():
            return render(request, "error.html", 404, message="No such record.")
        back = f"{PREFIX}/records/{obj}/{golden_id}"
        found = store.golden_record(engine, obj, golden_id, config.instance_urls)
        member = (str(data.get("org", "")), str(data.get("sfid", "")))
        if found is None or member not in {(m.org, m.sfid) for m in found.members}:
            return _redirect(back, "That record is no longer a member of this golden record.")
        by = request.scope["org360_session"].user.email
        try:
            for other in found.members:
                if (other.org, other.sfid) != member:
                    _record(
                        {
                            "object": obj,
                            "org_a": member[0],
                            "sfid_a": member[1],
                            "org_b": other.org,
                            "sfid_b": other.sfid,
                        },
                        "no_match",
                        by,
                        "separated from its golden record",
                    )
        except DecisionError as error:
            return _redirect(back, str(error))
        return _redirect(
            back, f"{member[0]}/{member[1]} marked not the same as the others; pending next run."
        )

    @page()
    def decisions(request: Request) -> Response:
        params = request.query_params
        pair = _pair_from(params)
        by = params.get("by") or None
        rows = store.history(engine, (pair[0], *pair[1], *pair[2]) if pair else None, by)
        return render(
            request,
            "history.html",
            rows=rows,
            pair=pair,
            by=by,
            last=store.last_publication(engine),
            message=params.get("message"),
            back=request.url.path + _query(request),
        )

    @page()
    def report(request: Request) -> Response:
        found = store.duplicate_report(engine)
        if request.query_params.get("format") == "csv":
            return _report_csv(found)
        histograms = {
            obj: charts.histogram(weights, charts.thresholds(obj))
            for obj, weights in found.weights.items()
        }
        return render(
            request,
            "report.html",
            report=found,
            matrix=charts.matrix(found.found),
            histograms=histograms,
        )

    @page()
    def status(request: Request) -> Response:
        return render(request, "status.html", runs=store.publications(engine))

    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/records/separate", separate, methods=["POST"]),
        Route("/records/{object}/{golden_id}", record),
        Route("/review", review),
        Route("/review/decide", decide, methods=["POST"]),
        Route("/review/bulk", bulk, methods=["POST"]),
        Route("/history", decisions),
        Route("/history/undo", undo, methods=["POST"]),
        Route("/report", report),
        Route("/status", status),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]

    def _act(row: dict[str, Any], action: str, by: str, note: str | None) -> str:
        a, b = (row["org_a"], row["sfid_a"]), (row["org_b"], row["sfid_b"])
        try:
            if action == "skip":
                skip_pair(engine, row["object"], a, b, by, note)
                return "Skipped: the pair stays in the queue."
            _record(row, action, by, note)
        except DecisionError as error:
            return str(error)
        return f"Decided: {ACTIONS[action]} ({a[0]}/{a[1]} and {b[0]}/{b[1]}); pending next run."

    def _record(row: dict[str, Any], action: str, by: str, note: str | None) -> None:
        record_decision(
            engine,
            Decision(
                row["object"],
                row["org_a"],
                row["sfid_a"],
                row["org_b"],
                row["sfid_b"],
                action,
                by,
                note,
            ),
        )

    return Starlette(routes=routes)


_NO_STORE = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # Scripts and styles from the app's own files only: no inline script can run.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
}


def _session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        sessions.COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_https(request),
        path="/",
        max_age=int(sessions.LIFETIME.total_seconds()),
    )


def _forbidden(message: str) -> Response:
    return Response(message + "\n", status_code=403, media_type="text/plain; charset=utf-8")


def _redirect(url: str, message: str) -> Response:
    joiner = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{joiner}{urlencode({'message': message})}", status_code=303)


def _https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


def _safe_next(value: Any) -> str:
    """Where to go after signing in: a page of the app, never another site."""
    text = str(value or "")
    if text.startswith(PREFIX + "/") and not text.startswith("//") and "\\" not in text:
        return text
    return f"{PREFIX}/"


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _orgs(value: str) -> tuple[str, str] | None:
    first, sep, second = value.partition("|")
    return (first, second) if sep and first and second else None


def _filter(request: Request) -> store.ReviewFilter:
    params = request.query_params
    obj = params.get("object") or None
    band = params.get("band") or None
    return store.ReviewFilter(
        object=obj if obj in CATALOGUE else None,
        orgs=_orgs(params.get("orgs") or ""),
        band=band if band in store.BANDS else None,
    )


def _back(data: Any) -> str:
    kept = {k: str(data.get(k)) for k in ("object", "orgs", "band") if data.get(k)}
    return f"?{urlencode(kept)}" if kept else ""


def _pair_from(data: Any) -> tuple[str, tuple[str, str], tuple[str, str]] | None:
    obj = str(data.get("object") or "")
    values = [str(data.get(k) or "") for k in ("org_a", "sfid_a", "org_b", "sfid_b")]
    orgs, sfids = values[0::2], values[1::2]
    if (
        obj not in CATALOGUE
        or not all(ORG_KEY_PATTERN.match(org) for org in orgs)
        or not all(sfid.isalnum() and len(sfid) <= 18 for sfid in sfids)
    ):
        return None
    a, b = sorted([(values[0], values[1]), (values[2], values[3])])
    return obj, a, b


def _report_csv(found: store.DuplicateReport) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["section", "object", "org_a", "org_b", "reason", "count", "waiting", "decided"]
    )
    for row in found.found:
        writer.writerow(
            [
                "duplicates found",
                row["object"],
                row["org_a"],
                row["org_b"],
                "",
                row["pairs"],
                "",
                "",
            ]
        )
    for row in found.queue:
        writer.writerow(
            [
                "review queue",
                row["object"],
                row["org_a"],
                row["org_b"],
                "",
                "",
                row["waiting"],
                row["decided"],
            ]
        )
    for row in found.quarantine:
        writer.writerow(
            ["quarantined", row["object"], row["org"], "", row["reason"], row["records"], "", ""]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="org360-duplicates.csv"'},
    )
