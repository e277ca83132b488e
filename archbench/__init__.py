"""archbench: the composition root. It wires the layers below (suites -> archs -> harness) into the command line
(`cli`, `python -m archbench`) and hands the renderer what it needs from above the core (`report_inputs`)."""
