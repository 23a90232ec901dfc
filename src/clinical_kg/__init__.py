"""clinical-kg: a sourced clinical knowledge graph of causes, conditions, symptoms and treatments."""

__version__ = "0.1.0"
