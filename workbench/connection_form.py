"""The "add a connection" wizard: what to ask for, per provider, then consent or a pasted grant.

Nothing is stored until the provider's grant is proven (see `workbench.connecting`); a wizard
left half way keeps only an in-memory consent flow that expires (`workbench.authorizing`).
"""

from __future__ import annotations

import streamlit as st

from connectors.amazon import config_for
from connectors.errors import ConfigError
from connectors.registry import PROVIDERS, provider
from connectors.sandbox import amazon as amazon_sandbox
from connectors.sandbox.amazon_auth import APPLICATION_ID
from connectors.sandbox.xero import CLIENT_ID as XERO_SANDBOX_ID
from connectors.sandbox.xero import CLIENT_SECRET as XERO_SANDBOX_SECRET
from workbench import services, ui
from workbench.authorizing import NewConnection
from workbench.connecting import Endpoints

CONSENT, PASTE = "Sign in at the provider (consent page)", "Paste a refresh token"
REGIONS = {"na": "North America", "eu": "Europe", "fe": "Far East"}
KEY = "new-connection-consent"


def wizard(workspace_id: str) -> None:
    """The form, and after it the consent link (or the new connection)."""
    name = st.selectbox(
        "Provider", list(PROVIDERS), format_func=lambda n: provider(n).title, key="new-provider"
    )
    demo = services.demo_url()
    with st.form("new-connection"):
        new, method, token = _fields(workspace_id, name, demo)
        submitted = st.form_submit_button("Continue", type="primary")
    if submitted and new is not None:
        with ui.reported(f"connect {new.name}"):
            if method == PASTE:
                created = services.connect_with_token(new, token)
                st.success(f"{created.name} is connected: sync it from its panel above.")
            else:
                st.session_state[KEY] = services.begin_connect(new, ui.app_url())
    url = st.session_state.get(KEY)
    if url:
        st.link_button("Open the consent page", url, icon=":material/open_in_new:")
        st.caption(
            "Approve access there and you come back here with the connection made. If you "
            "stop now, nothing is kept."
        )


def _fields(
    workspace_id: str, name: str, demo: str | None
) -> tuple[NewConnection | None, str, str]:
    info = provider(name)
    label = st.text_input("Name", value=info.title.split(" ")[0], key="new-name")
    region, settings = None, {}
    if name == "amazon":
        region = st.selectbox("Region", list(REGIONS), format_func=REGIONS.__getitem__)
        marketplace = st.text_input("Marketplace (country code)", value="US")
        application_id = st.text_input("SP-API application id", value=_default(demo, "app"))
    client_id = st.text_input("Client id", value=_default(demo, f"{name}-id"))
    client_secret = st.text_input(
        "Client secret", type="password", value=_default(demo, f"{name}-secret")
    )
    methods = [CONSENT, PASTE] if name == "amazon" else [CONSENT]
    method = st.radio("How to authorise", methods, horizontal=True)
    token = st.text_input("Refresh token (self-authorisation only)", type="password")
    with st.expander("Endpoints (a sandbox or a proxy; empty means the provider's own)"):
        api = st.text_input("API base URL", value=demo or "")
        token_url = st.text_input("Token URL", value=_sandbox_path(demo, name, "token"))
        authorize_url = st.text_input("Consent page URL", value=_sandbox_path(demo, name, "auth"))
    if not (label and client_id and client_secret) or (method == PASTE and not token):
        st.caption("Fill in the name, the client id and secret (and the token when pasting).")
        return None, method, token
    if name == "amazon":
        try:
            markets = config_for(str(region), [marketplace])
        except ConfigError as error:
            st.error(f"{error}: pick the marketplace's country code within the region")
            return None, method, token
        settings = {**markets, "application_id": application_id}
    new = NewConnection(
        provider=name,
        workspace_id=workspace_id,
        name=label,
        region=region,
        settings=settings,
        endpoints=Endpoints(api or None, token_url or None, authorize_url or None),
        client_id=client_id,
        client_secret=client_secret,
    )
    return new, method, token


def _default(demo: str | None, what: str) -> str:
    """On the demo, the sandboxes' own app credentials; elsewhere nothing."""
    if not demo:
        return ""
    return {
        "app": APPLICATION_ID,
        "amazon-id": amazon_sandbox.CLIENT_ID,
        "amazon-secret": amazon_sandbox.CLIENT_SECRET,
        "xero-id": XERO_SANDBOX_ID,
        "xero-secret": XERO_SANDBOX_SECRET,
    }[what]


def _sandbox_path(demo: str | None, name: str, what: str) -> str:
    if not demo:
        return ""
    paths = {
        ("amazon", "token"): "/auth/o2/token",
        ("amazon", "auth"): "/apps/authorize/consent",
        ("xero", "token"): "/connect/token",
        ("xero", "auth"): "/identity/connect/authorize",
    }
    return demo + paths[(name, what)]
