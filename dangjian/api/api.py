"""The JSON API at /api/v1: one NinjaAPI, its auth, its error shape, each app's router, and the docs page.

The docs page follows the intranet rule (ARCHITECTURE §2): ninja's default Swagger page loads Swagger UI
from a CDN whenever "ninja" is not an installed app, so this API serves the copy bundled in the ninja
package itself, from /api/v1/docs/assets/<file>.
"""

import json
from pathlib import Path

import ninja
from django.http import FileResponse, HttpResponse
from django.middleware.csrf import get_token
from django.utils.html import escape
from ninja import NinjaAPI, Router
from ninja.openapi.docs import DocsBase

from dangjian.bases.api import router as bases_router
from dangjian.core.errors import NotFound
from dangjian.dues.api import router as dues_router
from dangjian.meetings.api import router as meetings_router
from dangjian.members.api import router as members_router
from dangjian.orgs.api import router as orgs_router
from dangjian.recruitment.api import router as recruitment_router
from dangjian.transfers.api import router as transfers_router

from . import errors
from .auth import API_AUTH

ASSET_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {  # an allow-list: nothing else in the package directory is served
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.png": "image/png",
}

DOCS_PAGE = """<!DOCTYPE html>
<html lang="zh-Hans">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{assets}swagger-ui.css">
<link rel="icon" href="{assets}favicon.png" type="image/png">
</head>
<body data-csrf-token="{csrf}" data-api-csrf="true">
<script type="application/json" id="swagger-settings">{settings}</script>
<div id="swagger-ui"></div>
<script src="{assets}swagger-ui-bundle.js"></script>
<script src="{assets}swagger-ui-init.js"></script>
</body>
</html>
"""


class LocalSwagger(DocsBase):
    """Swagger UI from the ninja package; ninja's own init script reads the settings and the CSRF token."""

    def render_page(self, request, api, **kwargs):
        openapi_url = self.get_openapi_url(api, kwargs)
        settings = {
            "url": openapi_url,
            "layout": "BaseLayout",
            "deepLinking": True,
            "validatorUrl": "none",  # Swagger UI would otherwise send the spec to validator.swagger.io
        }
        page = DOCS_PAGE.format(
            title=escape(api.title),
            assets=openapi_url.rsplit("/", 1)[0] + "/docs/assets/",
            csrf=escape(get_token(request)),  # "Try it out" with the session needs the CSRF header
            settings=json.dumps(settings).replace("<", "\\u003c"),
        )
        return HttpResponse(page)


api = NinjaAPI(
    title="智慧党建服务平台 API",
    version="1",
    urls_namespace="api",
    auth=API_AUTH,
    docs=LocalSwagger(),
    parser=errors.JsonParser(),
)
errors.install(api)
api.add_router("/organizations", orgs_router)
api.add_router("/members", members_router)
api.add_router("/meetings", meetings_router)
api.add_router("/dues", dues_router)
api.add_router("/transfers", transfers_router)
api.add_router("/bases", bases_router)
api.add_router("/recruitment", recruitment_router)


@api.get("/docs/assets/{name}", auth=None, include_in_schema=False)
def docs_asset(request, name: str):
    if name not in ASSETS:
        raise NotFound()
    response = FileResponse((ASSET_DIR / name).open("rb"), content_type=ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


# Mounted last (Django tries URL patterns in order): any other path under /api/v1/ answers in the API's
# error shape instead of Django's HTML 404 page.
fallback = Router()


@fallback.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None,
                        include_in_schema=False)
def unknown_path(request, rest: str):
    raise NotFound("没有这个接口。")


api.add_router("", fallback)
