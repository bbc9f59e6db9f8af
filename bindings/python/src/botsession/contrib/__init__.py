"""Adapters that let bots written for other libraries keep their habits on BotSession stores."""
