"""Pure rules: no AWS, no I/O. Everything here is unit-tested without moto."""
