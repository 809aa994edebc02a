"""The Telegram front-end: rendering, delivery channel and the bot application."""
