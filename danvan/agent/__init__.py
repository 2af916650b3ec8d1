"""danvan-sign: the signing agent a signer runs on their own computer with their USB token.

It reads the signer's pending signature requests from danvan's API (personal API token), lets
the signer read the PDF, signs the prepared data on the PKCS#11 token after the PIN is typed
and sends the signature values back. The private key and the PIN never leave the computer.

Plain standard library plus python-pkcs11: nothing here imports Flask or the server's config.
"""
