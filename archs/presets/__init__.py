"""Named presets, one module per document family; `shrink` derives every `-tiny` twin from its full preset."""
