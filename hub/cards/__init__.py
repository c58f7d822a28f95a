"""IC cards: issue, revoke and the lifecycle moves; the card states are protocols.cards."""
