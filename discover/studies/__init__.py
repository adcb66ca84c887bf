"""Studies: experiments over the package that the pipelines run and the reports render."""
