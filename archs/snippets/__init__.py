"""Re-implementations of the code snippets in the Nexus Core document (seed 002), next to correct versions.

Each module holds the snippet's algorithm as the document describes it (`doc_*`) and the standard algorithm it
claims to be, plus a measurement that tells them apart, so that tests and reports can check the claims.
The code is written from the documents' descriptions, not copied from them.
"""
