"""Experiments that shaped the training recipe; run as modules from the repository root, e.g.
``python -m research.teacher_heads``. Index (question, script, result, verdict, command):
docs/research.md. Research may import ``bench``; nothing in the product imports ``research``."""
