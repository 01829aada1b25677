"""Licence Bridge on Chalice: routes, the sync worker and the scheduled jobs, wired only.

Everything else lives in chalicelib/. Reading this file lists the deployed surface.
"""

from chalice import Chalice

app = Chalice(app_name="licence-bridge")
