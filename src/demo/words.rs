//! Word lists the demonstration data is composed from, in English and Chinese.

pub const FEMALE_NAMES: &[&str] = &[
    "maya", "sofia", "amara", "chloe", "ingrid", "lucia", "nadia", "priya", "hannah", "zoe",
    "elena", "freya", "aisha", "clara", "yuki", "mei", "olivia", "rosa", "tamsin", "ines", "leila",
    "greta", "nora", "esther",
];
pub const MALE_NAMES: &[&str] = &[
    "leo", "tomas", "kwame", "arjun", "felix", "marco", "hiro", "jonas", "omar", "daniel", "ethan",
    "mateo", "rafael", "sami", "theo", "viktor", "kenji", "luca", "noah", "oscar", "pavel", "ravi",
    "bruno", "idris",
];
pub const SURNAMES: &[&str] = &[
    "okafor",
    "brandt",
    "silva",
    "nakamura",
    "moreau",
    "kowalski",
    "haddad",
    "lindqvist",
    "rossi",
    "mensah",
    "fischer",
    "alvarez",
    "osei",
    "tanaka",
    "novak",
    "kaur",
    "murphy",
    "petrov",
    "dubois",
    "andersen",
    "costa",
    "herrera",
    "ibrahim",
    "walsh",
    "yilmaz",
    "berg",
    "santos",
    "kim",
    "nguyen",
    "park",
];
pub const HANDLE_WORDS: &[&str] = &[
    "draws", "ink", "lens", "studio", "makes", "sketches", "paints", "frames", "clay", "pixels",
];

pub const CN_SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
pub const CN_GIVEN: &[&str] = &[
    "芳", "伟", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "华", "晓东", "雨桐", "子涵", "思远", "欣怡", "浩然", "一鸣", "梓萱", "嘉怡",
    "宇轩", "若溪", "书瑶", "俊杰",
];
pub const CN_NICK_HEADS: &[&str] = &[
    "山野",
    "水彩",
    "胶片",
    "路过的",
    "爱画画的",
    "慢慢",
    "城南",
    "北岛",
    "小鹿",
    "云朵",
];
pub const CN_NICK_TAILS: &[&str] = &[
    "摄影师",
    "小王",
    "画画",
    "手作",
    "拾光",
    "日记",
    "杂货铺",
    "工作室",
    "青年",
    "同学",
];

pub const CITIES_EN: &[&str] = &[
    "London",
    "Lisbon",
    "Toronto",
    "Melbourne",
    "Berlin",
    "Nairobi",
    "Austin",
    "Singapore",
    "Kyoto",
    "Oslo",
    "Mexico City",
    "Accra",
    "Barcelona",
    "Seoul",
    "Vancouver",
    "Edinburgh",
    "Cape Town",
    "Portland",
];
pub const CITIES_CN: &[&str] = &[
    "杭州", "上海", "北京", "成都", "广州", "深圳", "西安", "南京", "武汉", "苏州", "重庆", "厦门",
    "昆明", "长沙", "青岛", "大理",
];
pub const OCCUPATIONS_EN: &[&str] = &[
    "illustrator",
    "photographer",
    "graphic designer",
    "architect",
    "student",
    "art teacher",
    "software engineer",
    "animator",
    "painter",
    "ceramicist",
    "art director",
    "UX designer",
    "nurse",
    "retired engineer",
    "bookbinder",
];
pub const OCCUPATIONS_CN: &[&str] = &[
    "插画师",
    "摄影师",
    "平面设计师",
    "建筑师",
    "学生",
    "美术老师",
    "程序员",
    "动画师",
    "画家",
    "陶艺师",
    "美术编辑",
    "自由职业者",
    "产品经理",
    "护士",
];
pub const SIGNATURES_EN: &[&str] = &[
    "Drawing every day, mostly cats.",
    "Light, shadow, coffee.",
    "Slow photos for fast times.",
    "Ink stains are a lifestyle.",
    "Making small things with care.",
    "Always carrying a sketchbook.",
];
pub const SIGNATURES_CN: &[&str] = &[
    "每天画一点点。",
    "用镜头记录城市的温度。",
    "慢慢来，比较快。",
    "热爱一切手作。",
    "在路上，也在纸上。",
];
pub const BIOS_EN: &[&str] = &[
    "Self-taught illustrator working mostly in gouache and pencil. I post process shots and finished pieces.",
    "Street and travel photographer shooting film whenever I can afford it.",
    "Architect by day, watercolourist by night. Fond of rooftops and rainy streets.",
    "Designer interested in type, posters and printmaking.",
    "Former engineer, now learning ceramics and loving the mess.",
];
pub const BIOS_CN: &[&str] = &[
    "自学插画五年，喜欢用水彩和彩铅记录生活里的小事。",
    "业余摄影爱好者，常拍街头和老建筑，偏爱胶片的颗粒感。",
    "建筑系毕业，现在做室内设计，周末画速写。",
    "平面设计师，喜欢海报、字体和丝网印刷。",
];
pub const LABELS: &[&str] = &[
    "watercolour",
    "film",
    "street",
    "cats",
    "travel",
    "typography",
    "水彩",
    "胶片",
    "街拍",
    "速写",
    "手作",
    "旅行",
];
pub const EQUIPMENT: &[&str] = &[
    "Fujifilm X-T4, 35mm f/1.4",
    "iPad Pro + Procreate",
    "Winsor & Newton Cotman, Arches 300gsm",
    "Nikon FM2, Portra 400",
    "Wacom Intuos Pro",
    "温莎牛顿固体水彩",
    "索尼 A7C + 40mm",
    "樱花针管笔",
];

pub const EN_ADJECTIVES: &[&str] = &[
    "Quiet",
    "Golden",
    "Forgotten",
    "Blue",
    "Crooked",
    "Early",
    "Distant",
    "Silver",
    "Sleeping",
    "Hidden",
    "Rainy",
    "Wild",
    "Small",
    "Northern",
    "Paper",
    "Winter",
];
pub const EN_NOUNS: &[&str] = &[
    "Harbour",
    "Lighthouse",
    "Garden",
    "Rooftops",
    "Market",
    "Orchard",
    "Bridge",
    "Staircase",
    "Fox",
    "Tram",
    "Teapot",
    "Library",
    "Lake",
    "Window",
    "Bicycle",
    "Heron",
    "Kitchen",
    "Ferry",
];
pub const EN_TIMES: &[&str] = &[
    "Dawn",
    "Dusk",
    "Noon",
    "Midnight",
    "First Light",
    "Low Tide",
    "Rush Hour",
];
pub const EN_PLACES: &[&str] = &[
    "Lisbon",
    "Kyoto",
    "the Highlands",
    "Hangzhou",
    "Brooklyn",
    "Marrakesh",
    "the Fjords",
];
pub const EN_SEASONS: &[&str] = &["Spring", "Summer", "Autumn", "Winter", "the Rain"];
pub const EN_DESCRIPTIONS: &[&str] = &[
    "Painted on location over two mornings with a limited palette.",
    "Shot on a grey afternoon; I waited an hour for the light to break.",
    "A quick study that turned into something I actually like.",
    "Part of an ongoing series about the places I walk past every day.",
    "Gouache on toned paper, about A4 size.",
    "Made for a friend's birthday; the colours are hers.",
];

pub const CN_PLACES: &[&str] = &[
    "西湖",
    "鼓浪屿",
    "洱海",
    "外滩",
    "老城",
    "江南",
    "胡同",
    "山间",
    "海边",
    "古镇",
];
pub const CN_SCENES: &[&str] = &[
    "晨雾", "落日", "雨夜", "小巷", "人家", "渔船", "石桥", "灯火", "秋色", "初雪",
];
pub const CN_SEASONS: &[&str] = &["春天", "夏天", "秋天", "冬天", "雨季"];
pub const CN_NOUNS: &[&str] = &[
    "小猫",
    "老街",
    "书店",
    "茶馆",
    "窗台",
    "花园",
    "码头",
    "屋顶",
    "自行车",
    "咖啡馆",
];
pub const CN_DESCRIPTIONS: &[&str] = &[
    "用了三个下午完成，纸是阿诗三百克。",
    "那天光线特别好，随手按下快门。",
    "练习作品，欢迎交流指正。",
    "记录一次难忘的旅行。",
    "写生作品，现场完成。",
    "尝试了新的配色，自己挺满意。",
];

/// Tags per category key (English and Chinese).
pub const CATEGORY_TAGS: &[(&str, &[&str])] = &[
    (
        "illustration",
        &[
            "digital",
            "procreate",
            "character",
            "fantasy",
            "插画",
            "原创",
            "板绘",
        ],
    ),
    (
        "photography",
        &[
            "street",
            "film",
            "35mm",
            "portrait",
            "landscape",
            "街拍",
            "胶片",
            "风光",
        ],
    ),
    (
        "painting",
        &[
            "watercolour",
            "gouache",
            "oil",
            "plein-air",
            "水彩",
            "油画",
            "写生",
        ],
    ),
    (
        "graphic-design",
        &["poster", "typography", "branding", "海报", "字体", "排版"],
    ),
    ("3d", &["blender", "render", "lowpoly", "建模", "渲染"]),
    (
        "animation",
        &["loop", "2d", "frame-by-frame", "动画", "逐帧"],
    ),
    (
        "calligraphy",
        &["brush", "ink", "lettering", "书法", "毛笔", "楷书"],
    ),
    (
        "craft",
        &["ceramics", "embroidery", "woodwork", "陶艺", "刺绣", "手作"],
    ),
    (
        "architecture",
        &["sketch", "urban", "interior", "建筑", "速写", "城市"],
    ),
    ("other", &["sketchbook", "process", "日常", "练习"]),
];

pub const EN_ARTICLE_TITLES: &[&str] = &[
    "How I Paint Water in Five Steps",
    "Choosing Paper for Watercolour",
    "Notes on Composition",
    "A Year of Shooting Film",
    "Why I Keep a Sketchbook",
    "Lighting Portraits at Home",
    "Getting Started with Gouache",
    "What Printmaking Taught Me About Patience",
    "Photographing Cities at Night",
    "Building a Colour Palette",
    "From Thumbnail to Finished Piece",
    "Drawing People in Cafés",
];
pub const CN_ARTICLE_TITLES: &[&str] = &[
    "水彩入门：颜料与纸张",
    "我的胶片摄影一年总结",
    "关于构图的几点思考",
    "如何坚持每天画速写",
    "在家拍人像的布光技巧",
    "从草图到完成稿",
    "城市夜景拍摄心得",
    "建立自己的配色方案",
    "版画教会我的耐心",
    "咖啡馆里的人物速写",
];
pub const EN_HEADINGS: &[&str] = &[
    "Materials",
    "The first pass",
    "What went wrong",
    "What I learned",
    "Next time",
];
pub const CN_HEADINGS: &[&str] = &["材料", "第一遍", "遇到的问题", "收获", "下一步"];
pub const EN_SENTENCES: &[&str] = &[
    "I started with a loose pencil sketch, no more than a few lines.",
    "Most of the work happens before the brush touches the paper.",
    "Light is the real subject; everything else is an excuse.",
    "I made a lot of mistakes, and kept most of them.",
    "Limiting the palette to three colours forced better decisions.",
    "It took several tries before the proportions felt right.",
    "Working small makes it easier to finish things.",
    "The best advice I ever got was to look longer than I draw.",
    "Film slows me down, which is exactly the point.",
    "A good reference photo saves hours later.",
];
pub const CN_SENTENCES: &[&str] = &[
    "我先用铅笔起了一个很松的草稿。",
    "大部分功夫其实在落笔之前。",
    "光线才是真正的主角。",
    "过程中犯了很多错，但大多保留了下来。",
    "只用三种颜色，反而逼着自己做出更好的选择。",
    "比例调整了好几次才满意。",
    "画小尺寸更容易坚持完成。",
    "多看少画，是我收到过最好的建议。",
    "胶片让我慢下来，这正是我想要的。",
    "一张好的参考照片能省下很多时间。",
];
pub const EN_TIPS: &[&str] = &[
    "Use fewer colours",
    "Squint to see values",
    "Finish, then judge",
    "Keep the sketch loose",
];
pub const CN_TIPS: &[&str] = &["少用颜色", "眯眼看明暗", "先完成再评价", "草稿放松一点"];
