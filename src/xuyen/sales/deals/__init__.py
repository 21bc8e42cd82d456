"""Sales pipelines and deals: stages per pipeline, deals with catalogue lines priced like orders, won and lost
with reasons, a board, and a won deal turned into an order."""
