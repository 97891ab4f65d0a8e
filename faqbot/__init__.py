"""The front door: the `faqbot` command line (`faqbot.cli`, also `python -m faqbot`), above
the three wings it drives: the core (`bot`: reading, indexing, answering), the back office
(`backoffice`: the database and its stores, jobs, workers) and the web (`web`: the HTTP
app, its channels and console). Nothing in the wings imports this package."""
