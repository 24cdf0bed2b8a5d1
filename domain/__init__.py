"""Pure business rules of the partner program: no I/O, no framework imports."""
