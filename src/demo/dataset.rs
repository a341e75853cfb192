//! The demonstration data set, generated deterministically (same seed, same data), so loading it again finds
//! everything already there.

use std::collections::HashSet;

use serde::Serialize;

use super::words::*;

/// A small deterministic generator (splitmix64): the data must not change with a dependency's version.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, list: &'a [T]) -> &'a T {
        &list[self.below(list.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoUser {
    pub username: String,
    pub gender: &'static str,
    pub occupation: &'static str,
    pub city: &'static str,
    pub joined_days_ago: i32,
    pub chinese: bool,
    pub avatar_url: Option<String>,
    pub hometown: Option<&'static str>,
    pub signature: Option<&'static str>,
    pub bio: Option<&'static str>,
    pub link: Option<String>,
    pub equipment: Option<&'static str>,
    pub labels: Vec<&'static str>,
    pub consents: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoImage {
    pub url: String,
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoWork {
    pub author: usize,
    pub title: String,
    pub description: String,
    pub category: &'static str,
    pub images: Vec<DemoImage>,
    pub tags: Vec<&'static str>,
    pub draft: bool,
    pub minutes_ago: i32,
    pub view_count: i64,
}

#[derive(Debug, Clone)]
pub struct DemoArticle {
    pub author: usize,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub tags: Vec<&'static str>,
    pub minutes_ago: i32,
    pub view_count: i64,
}

/// Everything the demonstration loads; collections are (collector, work index) pairs.
pub struct Dataset {
    pub users: Vec<DemoUser>,
    pub works: Vec<DemoWork>,
    pub articles: Vec<DemoArticle>,
    pub collections: Vec<(usize, usize)>,
}

pub const USERS: usize = 300;

/// Generates the data set.
pub fn generate() -> Dataset {
    let mut rng = Rng::new(0x5eed_0f90_71c0);
    let users = users(&mut rng);
    let mut works = Vec::new();
    let mut articles = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let n = if rng.chance(25) { 0 } else { 1 + rng.below(5) };
        let mut titles = HashSet::new();
        for _ in 0..n {
            let w = work(&mut rng, i, u.chinese, works.len());
            if titles.insert(w.title.clone()) {
                works.push(w);
            }
        }
        if rng.chance(25) {
            let mut titles = HashSet::new();
            for _ in 0..1 + rng.below(3) {
                let a = article(&mut rng, i, u.chinese);
                if titles.insert(a.title.clone()) {
                    articles.push(a);
                }
            }
        }
    }
    let mut pairs = HashSet::new();
    for collector in 0..users.len() {
        for _ in 0..rng.below(16) {
            let w = rng.below(works.len());
            if works[w].author != collector && !works[w].draft {
                pairs.insert((collector, w));
            }
        }
    }
    let mut collections: Vec<_> = pairs.into_iter().collect();
    collections.sort_unstable();
    Dataset {
        users,
        works,
        articles,
        collections,
    }
}

fn username(rng: &mut Rng, chinese: bool, female: bool) -> String {
    if chinese {
        match rng.below(4) {
            0 => format!("{}{}", rng.pick(CN_NICK_HEADS), rng.pick(CN_NICK_TAILS)),
            _ => format!("{}{}", rng.pick(CN_SURNAMES), rng.pick(CN_GIVEN)),
        }
    } else {
        let first = if female {
            rng.pick(FEMALE_NAMES)
        } else {
            rng.pick(MALE_NAMES)
        };
        match rng.below(4) {
            0 => format!("{first}{}", rng.pick(HANDLE_WORDS)),
            1 => format!("{first}-{}", rng.pick(SURNAMES)),
            _ => format!("{first}_{}", rng.pick(SURNAMES)),
        }
    }
}

fn users(rng: &mut Rng) -> Vec<DemoUser> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(USERS);
    while out.len() < USERS {
        let chinese = out.len() % 7 < 3;
        let female = rng.chance(52);
        let mut name = username(rng, chinese, female);
        if !seen.insert(name.to_lowercase()) {
            name = format!("{name}{}", out.len());
            if !seen.insert(name.to_lowercase()) {
                continue;
            }
        }
        let n = out.len();
        let with_profile = rng.chance(70);
        let (cities, jobs): (&[&str], &[&str]) = if chinese {
            (CITIES_CN, OCCUPATIONS_CN)
        } else {
            (CITIES_EN, OCCUPATIONS_EN)
        };
        let (occupation, city) = (*rng.pick(jobs), *rng.pick(cities));
        let mut consents = vec!["account", "security"];
        if rng.chance(55) {
            consents.push("analytics");
        }
        if with_profile {
            consents.push("profile");
        }
        out.push(DemoUser {
            gender: match rng.below(20) {
                0 => "undisclosed",
                1 => "other",
                _ if female => "female",
                _ => "male",
            },
            occupation,
            city,
            joined_days_ago: 30 + rng.below(900) as i32,
            chinese,
            avatar_url: (with_profile && rng.chance(85))
                .then(|| format!("https://img.example.com/avatars/{n:04}.jpg")),
            hometown: (with_profile && rng.chance(60)).then(|| *rng.pick(cities)),
            signature: (with_profile && rng.chance(70)).then(|| {
                *rng.pick(if chinese {
                    SIGNATURES_CN
                } else {
                    SIGNATURES_EN
                })
            }),
            bio: (with_profile && rng.chance(60))
                .then(|| *rng.pick(if chinese { BIOS_CN } else { BIOS_EN })),
            link: (with_profile && rng.chance(30))
                .then(|| format!("https://portfolio.example.com/u/{n}")),
            equipment: (with_profile && rng.chance(40)).then(|| *rng.pick(EQUIPMENT)),
            labels: if with_profile {
                (0..rng.below(4))
                    .map(|_| *rng.pick(LABELS))
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect()
            } else {
                vec![]
            },
            consents,
            username: name,
        });
    }
    for u in &mut out {
        u.labels.sort_unstable();
    }
    out
}

fn title(rng: &mut Rng, chinese: bool) -> String {
    if chinese {
        match rng.below(4) {
            0 => format!("{}{}", rng.pick(CN_PLACES), rng.pick(CN_SCENES)),
            1 => format!("{}的{}", rng.pick(CN_SEASONS), rng.pick(CN_NOUNS)),
            2 => format!("{}习作 No.{}", rng.pick(CN_NOUNS), 1 + rng.below(30)),
            _ => format!("{}随拍：{}", rng.pick(CN_PLACES), rng.pick(CN_NOUNS)),
        }
    } else {
        match rng.below(4) {
            0 => format!("{} {}", rng.pick(EN_ADJECTIVES), rng.pick(EN_NOUNS)),
            1 => format!("{} at {}", rng.pick(EN_NOUNS), rng.pick(EN_TIMES)),
            2 => format!("{} in {}", rng.pick(EN_PLACES), rng.pick(EN_SEASONS)),
            _ => format!(
                "Study of a {} {}",
                rng.pick(EN_ADJECTIVES).to_lowercase(),
                rng.pick(EN_NOUNS).to_lowercase()
            ),
        }
    }
}

fn work(rng: &mut Rng, author: usize, chinese: bool, number: usize) -> DemoWork {
    let (category, tags) = *rng.pick(CATEGORY_TAGS);
    let sizes = [
        (1600, 1200),
        (1200, 1600),
        (2048, 1365),
        (1080, 1350),
        (2000, 2000),
    ];
    let images = (0..1 + rng.below(4))
        .map(|k| {
            let (width, height) = *rng.pick(&sizes);
            DemoImage {
                url: format!("https://img.example.com/works/{number}/{k}.jpg"),
                width,
                height,
            }
        })
        .collect();
    let mut tag_list: Vec<&'static str> = (0..1 + rng.below(4)).map(|_| *rng.pick(tags)).collect();
    tag_list.sort_unstable();
    tag_list.dedup();
    let chinese_text = if rng.chance(15) { !chinese } else { chinese };
    DemoWork {
        author,
        title: title(rng, chinese_text),
        description: rng
            .pick(if chinese_text {
                CN_DESCRIPTIONS
            } else {
                EN_DESCRIPTIONS
            })
            .to_string(),
        category,
        images,
        tags: tag_list,
        draft: rng.chance(4),
        minutes_ago: rng.below(365 * 24 * 60) as i32,
        view_count: (rng.below(60) * rng.below(120)) as i64,
    }
}

fn paragraph(rng: &mut Rng, chinese: bool) -> String {
    let sentences = if chinese { CN_SENTENCES } else { EN_SENTENCES };
    let parts: Vec<&str> = (0..2 + rng.below(3))
        .map(|_| *rng.pick(sentences))
        .collect();
    parts.join(if chinese { "" } else { " " })
}

fn article(rng: &mut Rng, author: usize, chinese: bool) -> DemoArticle {
    let (titles, headings, tips) = if chinese {
        (CN_ARTICLE_TITLES, CN_HEADINGS, CN_TIPS)
    } else {
        (EN_ARTICLE_TITLES, EN_HEADINGS, EN_TIPS)
    };
    let title = rng.pick(titles).to_string();
    let mut body = format!("{}\n\n", paragraph(rng, chinese));
    for _ in 0..2 + rng.below(2) {
        body.push_str(&format!(
            "## {}\n\n{}\n\n",
            rng.pick(headings),
            paragraph(rng, chinese)
        ));
    }
    for _ in 0..3 {
        body.push_str(&format!("- **{}**\n", rng.pick(tips)));
    }
    body.push_str(&format!(
        "\n> {}\n",
        rng.pick(if chinese { CN_SENTENCES } else { EN_SENTENCES })
    ));
    let (_, tags) = *rng.pick(CATEGORY_TAGS);
    let mut tag_list: Vec<&'static str> = (0..1 + rng.below(3)).map(|_| *rng.pick(tags)).collect();
    tag_list.sort_unstable();
    tag_list.dedup();
    DemoArticle {
        author,
        summary: paragraph(rng, chinese).chars().take(200).collect(),
        title,
        body,
        tags: tag_list,
        minutes_ago: rng.below(365 * 24 * 60) as i32,
        view_count: (rng.below(40) * rng.below(80)) as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.users.len(), USERS);
        assert_eq!(a.works.len(), b.works.len());
        assert_eq!(a.collections, b.collections);
        assert!(a.works.len() > 300 && a.articles.len() > 50 && a.collections.len() > 1000);
        for u in &a.users {
            crate::accounts::signin::check_username(&u.username).unwrap();
        }
        assert!(a.users.iter().any(|u| u.chinese) && a.users.iter().any(|u| !u.chinese));
        for w in &a.works {
            assert!(w.title.chars().count() <= 100 && !w.images.is_empty() && w.tags.len() <= 10);
        }
    }
}
