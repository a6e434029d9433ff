"""skillsubsidy: vocational skill-training subsidies (职业技能培训补贴) for HR bureaus."""

__version__ = "0.1.0"
