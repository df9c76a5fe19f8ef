"""The web UI on :8888: a dashboard of the fleet and its tasks, talking to the master for the browser.

The browser only ever calls this server; it calls the master server-side (``MasterProxy``) with the
master's token, which stays in a server-side session. See ``deploy.ui.server`` for ``roboos ui``.
"""

from deploy.ui.app import create_ui_app
from deploy.ui.settings import UIError, UISettings

__all__ = ["UIError", "UISettings", "create_ui_app"]
