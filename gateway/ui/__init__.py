"""The operator console served at /ui: static pages plus session-authenticated console endpoints."""
