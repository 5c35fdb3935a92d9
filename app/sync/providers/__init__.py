"""Statement parsers (OFX/QFX, QIF, CAMT.053, CSV) and network providers.

The parsers are pure and synchronous: bytes in, `ParsedStatement` out, `StatementError` on a bad file.
`app.sync.providers.detect.parse` picks the format and dispatches.
"""
