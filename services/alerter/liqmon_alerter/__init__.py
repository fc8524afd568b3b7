"""liqmon alerter: whale liquidations and cascades to Telegram, Discord, Slack, webhooks."""
