"""Measurement: timing (incl. the interleaved protocol), memory, parameter and FLOP counting, the roofline, row
fields for measured numbers, correctness gates and the distributed launcher."""
