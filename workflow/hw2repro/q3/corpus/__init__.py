"""The synthetic LJ-Speech-format corpus: grammar (what is said), espeak (who says it), writer (the folder)."""
