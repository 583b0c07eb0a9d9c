// Vocabulary for generated people and events. Zones are chosen for awkwardness: DST in
// both hemispheres, half- and quarter-hour offsets, and zones far from UTC so local days
// and UTC days differ.

export const TIME_ZONES = [
  'America/New_York',
  'America/Los_Angeles',
  'America/St_Johns',
  'Europe/London',
  'Europe/Berlin',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tokyo',
  'Australia/Sydney',
  'Pacific/Auckland',
  'America/Sao_Paulo',
  'UTC',
] as const;

export const FIRST_NAMES = ['Ada', 'Bjorn', 'Chen', 'Dalia', 'Emeka', 'Fatima', 'Gustavo', 'Hana', 'Ivan', 'Jasmin', 'Kofi', 'Lena', 'Mateo', 'Nadia', 'Oskar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tomoko', 'Umar', 'Vera', 'Wei', 'Ximena', 'Yusuf', 'Zoe'];

export const LAST_NAMES = ['Abara', 'Becker', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Haddad', 'Ito', 'Jensen', 'Kowalski', 'López', "O'Brien", 'Novak', 'Okafor', 'Petrov', 'Quinn', 'Rossi', 'Singh', 'Tanaka', 'Ueda', 'Varga', 'Wójcik', 'Xu', 'Yilmaz', 'Zhang'];

export const COMPANIES = ['Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Stark', 'Wayne', 'Tyrell', 'Cyberdyne', 'Soylent', 'Massive Dynamic', 'Wonka'];

export const MEETING_TITLES = ['Discovery call', 'Product demo', 'Pricing review', 'Quarterly business review', 'Onboarding kickoff', 'Contract walkthrough', 'Renewal check-in', 'Technical deep dive'];

export const LOCATIONS = ['Zoom', 'Google Meet', 'Customer office', 'Acme HQ, Room 4', 'Phone', null];

export const SUBJECTS = {
  email: ['Following up', 'Proposal attached', 'Re: pricing', 'Meeting notes', 'Quick question'],
  call: ['Intro call', 'Follow-up call', 'Support escalation', 'Voicemail', 'Negotiation call'],
  meeting: ['On-site visit', 'Lunch meeting', 'Workshop'],
  note: ['Prefers mornings', 'Budget approved', 'Decision maker is CFO', 'Competitor in play'],
} as const;
