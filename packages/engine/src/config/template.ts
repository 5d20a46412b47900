import { SOURCE_TYPES } from '@telemy/protocol';

/** The commented file `telemy config init` writes; every value equals the schema default. */
export function defaultConfigText(): string {
  return `config_version = 3
# Telemy configuration. Every key is optional: a missing key takes the default shown here.
# Environment variables TELEMY_<SECTION>_<KEY> (e.g. TELEMY_OBS_PORT) override this file.
# Secrets never go in this file: keys named *_key are names of entries in the vault
# (\`telemy vault set NAME\`).

[obs]
# obs-websocket (OBS → Tools → WebSocket Server Settings).
host = "127.0.0.1"
port = 4455
password_key = "obs_password"

[server]
# The dashboard / dock / metrics server. LAN access lets a phone on your network open the dashboard.
host = "127.0.0.1"
port = 7070
lan_access = false

[scenes]
# Names of your OBS scenes for each role. Automation only switches away from these (and managed_extra).
live = "LIVE"
low = "LOW"
brb = "BRB"
offline = "OFFLINE"
managed_extra = []
# When the BRB scene does not exist in OBS, the first of these roles whose scene exists goes on air.
fallback = ["OFFLINE", "LOW"]

[failover]
# Feed thresholds (0 disables a trigger) and timings; bounds are checked by \`telemy config validate\`.
sample_interval_ms = 500
low_bitrate_kbps = 800
offline_bitrate_kbps = 200
low_rtt_ms = 2500
offline_rtt_ms = 0
offline_after_ms = 500
low_after_ms = 1500
recover_after_ms = 1500
# Stop the stream after this many seconds offline while streaming (0 = never); the clock starts
# again at every stream start. OFFLINE is on air for offline_hold_s before the stream is stopped.
offline_timeout_s = 0
offline_hold_s = 3
switch_deadline_ms = 550

[automation]
auto_scene_switch = true
low_quality_fallback = true
manual_override = false
# No automatic switch while OBS is not streaming (before going live the scene is yours).
only_while_streaming = true
alerts = true
# chat_bot defaults to on when a chat platform is configured.

# Ingest sources, first non-offline by priority wins. Without any, the OBS stream output is used.
# [[sources]]
# name = "phone"
# type = "srt_live_transmit"   # ${SOURCE_TYPES.join(' | ')}
# priority = 10
# stats_file = "/tmp/srt-stats.json"
# input = "Phone"   # the OBS media source that plays this feed: LIVE waits until it shows the picture

[cloud]
# embedded: the control plane runs inside Telemy with local relays; remote: a hosted control plane.
mode = "embedded"
# base_url = "https://telemy.example.com"
api_key_key = "cloud_api_key"
region_preference = "auto"

[relay]
obs_source_name = "Telemy Relay"
auto_configure_obs_source = true
# Where the embedded relay listens: every interface unless set, so a phone on this network reaches it.
# bind_host = "0.0.0.0"
# The address the phone is given (QR code, SRT URL): this machine's first non-internal IPv4 unless set.
# public_host = "192.168.1.20"

[chat]
# Chat control from Twitch, Kick and YouTube (docs/chat.md). A platform's table present = that
# platform on; uncomment one and sign the bot in with \`telemy chat login <platform>\`.
prefix = "!"
# Names with the admin role; "twitch:name" limits one to a platform.
admins = []
# Say in chat when automation switches a scene.
announce_auto_switch = false
# The scenes !privacy, !starting and !ending switch to (unset: the command is not set up).
# privacy_scene = "PRIVACY"
# starting_scene = "STARTING"
# ending_scene = "ENDING"

# [chat.twitch]
# channel = "yourchannel"
# client_id = "your-app-client-id"   # a Public client from dev.twitch.tv/console
# client_secret_key = "chat_twitch_client_secret"   # vault entry; public clients need none
# auth_host = "https://id.twitch.tv/oauth2"
# token_key = "twitch_token"   # a pasted token in the vault instead of a sign-in (never refreshed)
# host = "wss://irc-ws.chat.twitch.tv:443"   # chat server: irc://, ircs://, ws:// or wss://

# [chat.kick]
# channel = "yourchannel"      # the channel slug; reading needs no sign-in, replies do
# client_id = "your-app-client-id"   # an app from kick.com/settings/developer
# client_secret_key = "chat_kick_client_secret"
# auth_host = "https://id.kick.com"
# token_key = "kick_token"
# host = "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=8.4.0&flash=false"
# api_host = "https://api.kick.com"
# web_host = "https://kick.com"
# chatroom_id = 123456         # looked up from the channel slug when unset
# broadcaster_user_id = 123456 # likewise

# [chat.youtube]
# channel = "Your Channel"     # shown in the dashboard; the chat is the active broadcast's
# client_id = "…apps.googleusercontent.com"   # a "TVs and Limited Input devices" OAuth client
# client_secret_key = "chat_youtube_client_secret"
# auth_host = "https://oauth2.googleapis.com"
# token_key = "youtube_token"
# host = "https://www.googleapis.com/youtube/v3"
# live_chat_id = "…"           # else the active broadcast's live chat
# quota_per_day = 10000        # your Google Cloud project's daily quota (docs/chat.md: how to raise it)
# expected_stream_hours = 8    # the quota is spread over this; polls slow down only if it would not last

# One table per command to change (docs/chat.md lists every command with its defaults):
# [chat.commands.brb]
# role = "moderator"           # broadcaster | admin | moderator | vip | public
# users = []                   # names allowed whatever their role
# aliases = ["berightback"]
# cooldown_s = 5               # global, seconds
# user_cooldown_s = 0          # per user, seconds

[otlp]
enabled = false
# endpoint = "https://otlp-gateway-prod-eu-west-0.grafana.net/otlp"
auth_value_key = "otlp_auth"
interval_ms = 15000

# Output display names and encoder groups for the dashboard.
# [[outputs]]
# obs_id = "adv_stream"
# display_name = "Horizontal"
# encoder_group = "Horizontal"
# hidden = false

[ipc]
# dir = "/run/user/1000/telemy"

[log]
level = "info"
`;
}
