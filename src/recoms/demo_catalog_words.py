"""Vocabulary of the demo shop (`recoms.demo_data`): its category tree, invented brands and the words
product names, descriptions and contacts are composed from. Data only, no logic.

Every category name (top, mid and leaf level) is unique, so a `CategoryPage` event can name one alone.
All brand names are invented for the demo.
"""

from __future__ import annotations

from typing import NamedTuple


class LeafSpec(NamedTuple):
    noun: str  # what one product of the leaf is called in its name
    median_price: float  # USD; prices spread lognormally around it
    kind: str  # "apparel" and "footwear" get color/size/gender, "colored" a color, "plain" none
    gender: str = "unisex"  # GMC values: female, male, unisex
    repurchase_days: int = 0  # > 0: a consumable, re-bought about that often


def _leaf(noun: str, price: float, kind: str = "colored", gender: str = "unisex", every: int = 0) -> LeafSpec:
    return LeafSpec(noun, price, kind, gender, every)


# top -> mid -> leaf -> spec
CATEGORY_TREE: dict[str, dict[str, dict[str, LeafSpec]]] = {
    "Clothing": {
        "Women": {
            "Dresses": _leaf("Dress", 60, "apparel", "female"),
            "Blouses": _leaf("Blouse", 35, "apparel", "female"),
            "Skirts": _leaf("Skirt", 40, "apparel", "female"),
            "Tights": _leaf("Tights", 9, "apparel", "female", every=21),
        },
        "Men": {
            "Shirts": _leaf("Shirt", 40, "apparel", "male"),
            "Jeans": _leaf("Jeans", 55, "apparel", "male"),
            "Jackets": _leaf("Jacket", 110, "apparel", "male"),
            "Socks": _leaf("Socks", 8, "apparel", every=24),
        },
    },
    "Footwear": {
        "Women's Shoes": {
            "Heels": _leaf("Heel", 80, "footwear", "female"),
            "Sandals": _leaf("Sandal", 45, "footwear", "female"),
            "Ankle Boots": _leaf("Ankle Boot", 95, "footwear", "female"),
        },
        "Men's Shoes": {
            "Loafers": _leaf("Loafer", 85, "footwear", "male"),
            "Boots": _leaf("Boot", 120, "footwear", "male"),
            "Sneakers": _leaf("Sneaker", 70, "footwear"),
        },
    },
    "Accessories": {
        "Bags": {
            "Handbags": _leaf("Handbag", 70, gender="female"),
            "Backpacks": _leaf("Backpack", 50),
            "Wallets": _leaf("Wallet", 30),
        },
        "Jewelry": {
            "Necklaces": _leaf("Necklace", 45, gender="female"),
            "Earrings": _leaf("Earrings", 25, gender="female"),
            "Bracelets": _leaf("Bracelet", 30),
        },
    },
    "Electronics": {
        "Phones": {
            "Smartphones": _leaf("Smartphone", 450),
            "Phone Cases": _leaf("Phone Case", 18),
            "Chargers": _leaf("Charger", 22, "plain"),
        },
        "Audio": {
            "Headphones": _leaf("Headphones", 120),
            "Speakers": _leaf("Speaker", 80),
        },
        "Computers": {
            "Laptops": _leaf("Laptop", 900),
            "Mice": _leaf("Mouse", 25),
            "Laptop Sleeves": _leaf("Laptop Sleeve", 30),
        },
    },
    "Home": {
        "Kitchen": {
            "Pans": _leaf("Pan", 40),
            "Spatulas": _leaf("Spatula", 9),
            "Knives": _leaf("Chef Knife", 45, "plain"),
            "Cutting Boards": _leaf("Cutting Board", 20, "plain"),
        },
        "Bedding": {
            "Sheets": _leaf("Sheet Set", 50),
            "Pillows": _leaf("Pillow", 25),
            "Duvets": _leaf("Duvet", 90),
        },
        "Appliances": {
            "Coffee Makers": _leaf("Coffee Maker", 90),
            "Kettles": _leaf("Kettle", 35),
        },
    },
    "Sports": {
        "Running": {
            "Running Shoes": _leaf("Running Shoe", 110, "footwear"),
            "Running Socks": _leaf("Running Socks", 12, "apparel", every=30),
            "Sports Watches": _leaf("Sports Watch", 200),
        },
        "Yoga": {
            "Yoga Mats": _leaf("Yoga Mat", 35),
            "Yoga Blocks": _leaf("Yoga Block", 15),
        },
        "Cycling": {
            "Bikes": _leaf("Bike", 650),
            "Helmets": _leaf("Helmet", 60),
            "Bike Lights": _leaf("Bike Light", 25, "plain"),
        },
    },
    "Grocery": {
        "Coffee": {
            "Coffee Beans": _leaf("Coffee Beans", 14, "plain", every=14),
            "Coffee Filters": _leaf("Coffee Filters", 5, "plain", every=30),
        },
        "Tea": {
            "Green Tea": _leaf("Green Tea", 7, "plain", every=20),
            "Herbal Tea": _leaf("Herbal Tea", 6, "plain", every=20),
        },
        "Snacks": {
            "Protein Bars": _leaf("Protein Bars", 20, "plain", every=16),
            "Granola": _leaf("Granola", 6, "plain", every=12),
        },
    },
    "Health & Beauty": {
        "Vitamins": {
            "Multivitamins": _leaf("Multivitamin", 18, "plain", every=30),
            "Vitamin D": _leaf("Vitamin D", 12, "plain", every=30),
        },
        "Skincare": {
            "Moisturizers": _leaf("Moisturizer", 25, "plain", every=28),
            "Sunscreen": _leaf("Sunscreen", 15, "plain", every=25),
        },
        "Hair Care": {
            "Shampoo": _leaf("Shampoo", 9, "plain", every=21),
            "Conditioner": _leaf("Conditioner", 9, "plain", every=21),
        },
    },
    "Pets": {
        "Dogs": {
            "Dog Food": _leaf("Dog Food", 40, "plain", every=18),
            "Dog Toys": _leaf("Dog Toy", 10),
            "Leashes": _leaf("Leash", 18),
        },
        "Cats": {
            "Cat Food": _leaf("Cat Food", 30, "plain", every=16),
            "Cat Litter": _leaf("Cat Litter", 16, "plain", every=14),
            "Scratching Posts": _leaf("Scratching Post", 35),
        },
    },
}

# How much traffic each top category draws, relative to the others.
TOP_CATEGORY_TRAFFIC = {
    "Clothing": 1.6, "Footwear": 1.0, "Accessories": 0.7, "Electronics": 1.3, "Home": 1.0,
    "Sports": 0.9, "Grocery": 0.9, "Health & Beauty": 0.8, "Pets": 0.7,
}

# Leaf -> leaves whose products go with it in one basket ("bought together").
COMPLEMENT_LEAVES = {
    "Smartphones": ("Phone Cases", "Chargers"),
    "Laptops": ("Mice", "Laptop Sleeves"),
    "Headphones": ("Chargers",),
    "Dresses": ("Heels", "Handbags"),
    "Blouses": ("Skirts",),
    "Skirts": ("Tights",),
    "Shirts": ("Jeans",),
    "Jackets": ("Boots",),
    "Loafers": ("Socks",),
    "Sandals": ("Sunscreen",),
    "Necklaces": ("Earrings",),
    "Pans": ("Spatulas",),
    "Knives": ("Cutting Boards",),
    "Sheets": ("Pillows",),
    "Duvets": ("Sheets",),
    "Coffee Makers": ("Coffee Beans", "Coffee Filters"),
    "Kettles": ("Green Tea", "Herbal Tea"),
    "Running Shoes": ("Running Socks", "Sports Watches"),
    "Yoga Mats": ("Yoga Blocks",),
    "Bikes": ("Helmets", "Bike Lights"),
    "Shampoo": ("Conditioner",),
    "Dog Food": ("Dog Toys",),
    "Cat Food": ("Cat Litter",),
    "Sneakers": ("Socks",),
    "Boots": ("Socks",),
    "Ankle Boots": ("Tights",),
    "Handbags": ("Wallets",),
    "Speakers": ("Chargers",),
    "Coffee Beans": ("Coffee Filters",),
    "Moisturizers": ("Sunscreen",),
    "Multivitamins": ("Vitamin D",),
    "Leashes": ("Dog Toys",),
}

BRANDS = {
    "Clothing": ["Maren & Co", "Ostrava", "Linnea Loom", "Corvell", "Wrenfield", "Sable Row", "Northbright",
                 "Alder Thread", "Veloura", "Kestrel Lane", "Tamsin", "Palisade Knit"],
    "Footwear": ["Stridewell", "Cobble & Fern", "Tarrin", "Solvane", "Fernhill", "Marchetto", "Bramblestep",
                 "Quillon", "Hollis Row", "Ardent Sole", "Kivu"],
    "Accessories": ["Amberleaf", "Lune & Lark", "Carrow", "Silvane", "Odessa Vale", "Brisk & Bloom",
                    "Tessory", "Halden", "Mirrel", "Opaline"],
    "Electronics": ["Volt", "Nexora", "Quantix", "Lumigrid", "Ohmwave", "Zentrix", "Pixelcore", "Arcwell",
                    "Sonavi", "Helix Labs", "Brightfold", "Corelink", "Vantix"],
    "Home": ["Hearthmade", "Copperleaf", "Nordhem", "Kettleby", "Birchwood Home", "Oakhaven", "Larkspur",
             "Casa Verdi", "Linden & Loaf", "Stillwater"],
    "Sports": ["Volt", "Peakform", "Stridex", "Trailhawk", "Aerolin", "Summit Ridge", "Pacefield",
               "Kinetra", "Ridgeback", "Velocita", "Lotus Flow"],
    "Grocery": ["Morning Ritual", "Beanhouse", "Green Hollow", "Oak & Ember", "Harvest Lane", "Tidewater",
                "Little Orchard", "Brightbrew", "Fieldnote Foods", "Ember Roast"],
    "Health & Beauty": ["Vitalis", "Purelle", "Dermaleaf", "Sunveil", "Nutrava", "Botanix", "Clearwell",
                        "Aurea", "Mossy Stone", "Halcyon Care"],
    "Pets": ["Pawsome", "Whiskerly", "Barkwell", "Tailwind Pets", "Furrow & Friends", "Happy Hound",
             "Purrfect Day", "Kibbleworks", "Snout & Co", "Meadow Paws"],
}

ADJECTIVES = {
    "Clothing": ["Classic", "Relaxed", "Slim", "Linen", "Cotton", "Everyday", "Tailored", "Soft", "Urban"],
    "Footwear": ["Classic", "Leather", "Suede", "Comfort", "City", "Trail", "Lite", "Heritage"],
    "Accessories": ["Classic", "Leather", "Minimal", "Golden", "Silver", "Woven", "Compact", "Vintage"],
    "Electronics": ["Pro", "Lite", "Max", "Ultra", "Smart", "Wireless", "Compact", "Plus", "Edge"],
    "Home": ["Nonstick", "Cast", "Steel", "Cozy", "Essential", "Premium", "Bamboo", "Classic"],
    "Sports": ["Pro", "Lite", "Tempo", "Trail", "Aero", "Grip", "Endurance", "Flex", "Sprint"],
    "Grocery": ["Organic", "Classic", "Dark", "Smooth", "Fair-Trade", "Wholesome", "Single-Origin"],
    "Health & Beauty": ["Daily", "Gentle", "Pure", "Hydrating", "Advanced", "Natural", "Sensitive"],
    "Pets": ["Healthy", "Grain-Free", "Premium", "Tough", "Gentle", "Senior", "Puppy"],
}

# Pack sizes stand in for the model code in consumables' names, by mid category.
PACK_SIZES = {
    "Coffee": ["250 g", "500 g", "1 kg"], "Tea": ["20 Bags", "40 Bags", "80 Bags"],
    "Snacks": ["6-Pack", "12-Pack", "400 g"], "Vitamins": ["30 ct", "60 ct", "90 ct"],
    "Skincare": ["50 ml", "100 ml", "200 ml"], "Hair Care": ["250 ml", "400 ml", "1 l"],
    "Dogs": ["2 kg", "5 kg", "12 kg"], "Cats": ["1.5 kg", "4 kg", "10 kg"],
}
DEFAULT_PACK_SIZES = ["2-Pack", "3-Pack", "5-Pack"]
MODEL_LETTERS = "AEGKLMRSVXZ"

TAGLINES = {
    "Clothing": ["Made from breathable fabric for all-day comfort.", "Easy care, machine washable.",
                 "A wardrobe staple that pairs with anything."],
    "Footwear": ["Cushioned insole for long days on your feet.", "Durable outsole with a reliable grip.",
                 "Crafted to break in quickly."],
    "Accessories": ["A finishing touch for any outfit.", "Thoughtfully designed, built to last.",
                    "Makes an easy gift."],
    "Electronics": ["Fast, reliable and ready out of the box.", "Backed by a two-year warranty.",
                    "Long battery life and a sleek design."],
    "Home": ["Built for everyday use and easy to clean.", "Brings warmth and order to your home.",
             "Dishwasher safe."],
    "Sports": ["Engineered for performance and comfort.", "Lightweight and tested by athletes.",
               "Ready for your next personal best."],
    "Grocery": ["Sourced from small farms and packed fresh.", "A pantry favourite.",
                "No artificial flavours."],
    "Health & Beauty": ["Dermatologist tested.", "Gentle enough for daily use.",
                        "Formulated with clean ingredients."],
    "Pets": ["Vet approved.", "Made for happy, healthy pets.", "Your pet's new favourite."],
}

COLORS = ["Black", "White", "Navy", "Grey", "Beige", "Red", "Green", "Blue", "Olive", "Pink", "Brown",
          "Silver"]
APPAREL_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
SHOE_SIZES = [str(size) for size in range(36, 47)]

FIRST_NAMES = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Mia", "Lucas", "Isla",
               "Leo", "Amelia", "Jack", "Chloe", "Oscar", "Grace", "Henry", "Lily", "Samuel", "Zoe", "Daniel",
               "Nora", "Adam", "Ella", "Victor", "Maya", "Felix", "Hannah", "Elias"]
LAST_NAMES = ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Martin", "Lopez", "Clark", "Lewis",
              "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
              "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner"]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]

# Searches that find nothing in this shop.
UNKNOWN_SEARCHES = ["gift card", "umbrella", "lawn mower", "tent", "guitar strings", "printer ink",
                    "board game", "sofa"]

# UTC hour -> relative number of sessions starting then.
HOURLY_TRAFFIC = [2, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 7, 8, 8, 7, 7, 7, 8, 10, 11, 11, 9, 6, 4]

# Derived views of the tree.
LEAF_SPECS = {leaf: spec for mids in CATEGORY_TREE.values() for leaves in mids.values()
              for leaf, spec in leaves.items()}
LEAF_PATHS = {leaf: (top, mid, leaf) for top, mids in CATEGORY_TREE.items() for mid, leaves in mids.items()
              for leaf in leaves}
COMPLEMENTS_ONLY = {leaf for leaves in COMPLEMENT_LEAVES.values() for leaf in leaves} - set(COMPLEMENT_LEAVES)
