"""The IC card stock: blank cards bought, cards made, scrapped and put back, and the
monthly inventory report the clerk files by the 5th of the next month."""
