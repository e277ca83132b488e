"""Report pages a suite family adds beyond the generic suite and document pages (the hybrid MVP stages)."""
