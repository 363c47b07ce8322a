"""Hand-written post templates, filled with products and identifiers by ``generate.py`` to
give the sample corpus volume without repeating a post word for word."""

PRODUCTS = [
    "Hub 2",
    "Aura speaker",
    "Aura Mini",
    "Therma thermostat",
    "Halden Cam",
    "Halden doorbell",
]

# (text, intent, sentiment, private). {product} and {order} are filled in; {order} makes a post private.
X_TEMPLATES: list[tuple[str, str, str, bool]] = [
    (
        "@HaldenSupport my {product} order {order} still hasn't shipped, it's been over a week",
        "delivery",
        "negative",
        True,
    ),
    (
        "Ordered a {product} from Halden on the 1st. Tracking hasn't moved in 5 days 📦",
        "delivery",
        "negative",
        False,
    ),
    ("Halden {product} arrived a day early, well packed. Nice", "praise", "positive", False),
    (
        "@HaldenHome the {product} in order {order} arrived broken, what now?",
        "delivery",
        "negative",
        True,
    ),
    (
        "Courier marked my Halden {product} as delivered to a neighbour I don't have 🙃",
        "delivery",
        "negative",
        False,
    ),
    (
        "Got an email saying my {product} is delayed again. Halden, just give me a real date",
        "delivery",
        "negative",
        False,
    ),
    (
        "Halden {product} stopped working after the latest update. Anyone found a fix?",
        "technical",
        "negative",
        False,
    ),
    ("My Halden {product} keeps going offline every few hours", "technical", "negative", False),
    (
        "Factory reset my {product} three times and it still won't connect. @HaldenSupport",
        "technical",
        "negative",
        False,
    ),
    (
        "The Halden {product} firmware update failed halfway and now it's unresponsive",
        "technical",
        "negative",
        False,
    ),
    ("How do I set up the Halden {product} with the Hub 2?", "question", "neutral", False),
    ("Does the Halden {product} work without wifi?", "question", "neutral", False),
    (
        "Can anyone tell me if the {product} from Halden is compatible with Google Home?",
        "question",
        "neutral",
        False,
    ),
    ("Where do I find the serial number on a Halden {product}?", "question", "neutral", False),
    (
        "Is the Halden {product} worth buying or should I wait for the next version?",
        "purchase",
        "neutral",
        False,
    ),
    (
        "Thinking about getting a second {product}. Any deals on at Halden this week?",
        "purchase",
        "neutral",
        False,
    ),
    (
        "Just bought the Halden {product}, setup took minutes. Love it ❤️",
        "praise",
        "positive",
        False,
    ),
    (
        "Honestly the Halden {product} is brilliant, recommend it to anyone",
        "praise",
        "positive",
        False,
    ),
    (
        "Really happy with my Halden {product}, best purchase this year 👍",
        "praise",
        "positive",
        False,
    ),
    (
        "The {product} from Halden feels cheap for what it costs. Disappointed",
        "complaint",
        "negative",
        False,
    ),
    (
        "Halden {product} is awful since the redesign, everything takes more taps",
        "complaint",
        "negative",
        False,
    ),
    (
        "Would be nice if the Halden {product} had a physical mute button",
        "feedback",
        "neutral",
        False,
    ),
    (
        "Feature request: let the Halden {product} show up in the widget on iOS",
        "feedback",
        "neutral",
        False,
    ),
    (
        "@HaldenSupport I was charged for a {product} I returned. Order {order}. Please refund",
        "billing",
        "negative",
        True,
    ),
    (
        "Halden charged me full price for the {product} even though the discount code was accepted",
        "billing",
        "negative",
        True,
    ),
    (
        "Returned my {product} two weeks ago and still no refund from Halden",
        "billing",
        "negative",
        True,
    ),
    (
        "Can't log in to manage my {product}, the Halden app says my password is wrong but it isn't",
        "account",
        "negative",
        True,
    ),
    (
        "Halden locked my account after I added a second {product}. Why??",
        "account",
        "negative",
        True,
    ),
    (
        "Cancelling Halden+ and selling my {product}. Switching to Nestwell",
        "cancel",
        "negative",
        False,
    ),
    ("Picked up a {product} in the Halden store today", "other", "neutral", False),
]

# Questions on r/HaldenHome answered by the sub's super-users: (title, body, answer).
REDDIT_QA: list[tuple[str, str, str]] = [
    (
        "Aura Mini won't pair",
        "Says device not found every time. Any tips?",
        "Turn Bluetooth off and on, then hold the Mini's action button for 8 seconds until it pulses blue. Pair within a minute.",
    ),
    (
        "Cam night vision is grey",
        "Image has been a grey blur at night since yesterday.",
        "Clean the lens and check that Night vision is on Auto, not On. The IR light reflects off a dirty lens.",
    ),
    (
        "Best place for the thermostat?",
        "Hall or living room?",
        "Wherever you spend most time, away from radiators, windows and direct sun. Hallways near front doors read cold.",
    ),
    (
        "Does the doorbell need a chime?",
        "No existing chime in my house.",
        "No, the Hub 2 or any Aura speaker can act as the chime. Settings > Doorbell > Chime devices.",
    ),
    (
        "Hub 2 update stuck at 87%",
        "Been an hour. Unplug?",
        "Give it up to two hours. If it's still stuck, unplug for 30 seconds; it rolls back safely to the previous firmware.",
    ),
    (
        "Holiday mode without dates?",
        "We never know our return date.",
        "Use Away mode instead: it holds a frost temperature until someone's phone comes home.",
    ),
    (
        "Can I use two hubs?",
        "Big house, signal doesn't reach the garage.",
        "One hub per home, but add a Zigbee repeater plug in between. A second hub means a second home in the app.",
    ),
    (
        "Energy report shows zero",
        "Everything is zero since Monday.",
        "Your tariff probably expired in Settings > Energy. Re-enter the end date and the report refills in a few hours.",
    ),
    (
        "Warranty on the Therma?",
        "Mine is 18 months old.",
        "Two years standard, three if you registered it within 30 days. The receipt in the app counts as proof.",
    ),
    (
        "Aura volume drops by itself",
        "Volume keeps going down at night.",
        "That's Night mode. Settings > Sound > Night mode: turn it off or change the hours.",
    ),
    (
        "Cam motion range?",
        "How far does it see people?",
        "About 8 metres for people reliably, a bit less at night. Angle it down slightly for best results.",
    ),
    (
        "Doorbell battery life?",
        "Mine lasts 3 weeks.",
        "Busy doors drain it. Shorten the clip length and turn off pre-roll; mine went from 4 weeks to 3 months.",
    ),
    (
        "Can guests control the heating?",
        "Airbnb use case.",
        "Add a guest member with schedule-only rights, and remove them after checkout. Works well for rentals.",
    ),
    (
        "Speaker groups keep breaking",
        "Groups disappear after reboot.",
        "Give the speakers fixed IPs in your router. Groups are stored against addresses on older firmware.",
    ),
    (
        "Thermostat screen too bright",
        "Lights up the landing at night.",
        "Settings > Display > Auto-dim after 10pm. There's also a 'screen off' option that wakes on touch.",
    ),
]
