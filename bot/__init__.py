"""Talking to people: platform-neutral commands, the Telegram and Slack front-ends, the console."""
