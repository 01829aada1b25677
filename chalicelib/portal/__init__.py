"""The national licence portal: mapping (pure), outcome types and the zeep client.

Importing this package does not import zeep or lxml (only `chalicelib.portal.client` does),
so the pure mapping can be used anywhere; the webhook route still never imports it.
"""
