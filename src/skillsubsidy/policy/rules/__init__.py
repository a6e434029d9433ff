"""The kinds of rule, one module per subsidy kind, each a set of small functions named after
the legal concept and returning Polars expressions over a batch of claims."""
