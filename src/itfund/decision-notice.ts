// The decision notice of the IT support fund (様式第3, 医療情報化支援基金補助金交付決定通知書) as a PDF:
// the facility, the decision date, the approved amount, the cost items as reviewed, and the
// standard wording of a 交付決定通知書 (実施要領 第8–第12: conditions, cancellation and return).

import { jaDate, PdfForm, yen } from '../platform/pdf.ts';
import type { CaseView } from './service.ts';
import type { CostKind } from './rules.ts';

export const costKindLabels: Record<CostKind, string> = {
  terminal: '端末（資格確認端末）',
  package_software: 'パッケージソフトの導入',
  claims_line: 'レセプトコンピュータ等との接続（回線）',
  line_bandwidth: 'ネットワーク回線の増強',
  system_modification: '既存システムの改修',
  reader: '顔認証付きカードリーダー',
  training: '導入に係る研修',
};

export interface DecisionNoticeInput {
  case: CaseView;
  facilityName: string;
  /** The notice number printed on the form (the case id when none is given). */
  noticeNumber?: string;
}

export async function renderDecisionNotice({ case: c, facilityName, noticeNumber }: DecisionNoticeInput): Promise<Buffer> {
  const decidedOn = c.decidedOn!;
  const approved = c.approvedYen ?? 0;
  const pdf = new PdfForm({ title: '医療情報化支援基金補助金交付決定通知書', subject: `交付決定通知書 ${c.facilityCode}`, createdOn: decidedOn });
  pdf.right('様式第3').gap(0.5);
  pdf.right(`文書番号　${noticeNumber ?? c.id}`);
  pdf.right(jaDate(decidedOn)).gap(1);
  pdf.paragraph(`${facilityName}　開設者　殿`);
  pdf.paragraph(`（医療機関等コード　${c.facilityCode}）`).gap(0.5);
  pdf.right('社会保険診療報酬支払基金　理事長').gap(1.5);
  pdf.title('医療情報化支援基金補助金交付決定通知書');
  const applied = c.subsidyAppliedOn ? `${jaDate(c.subsidyAppliedOn)}付けで申請のあった` : '申請のあった';
  pdf.paragraph(`${applied}医療情報化支援基金補助金（オンライン資格確認の導入に係る補助）については、医療情報化支援基金補助金交付要綱及び同実施要領に基づき、下記のとおり交付することに決定したので通知します。`);
  pdf.doc.fontSize(10.5).text('記', { width: pdf.width, align: 'center' }).moveDown(0.6);

  pdf.paragraph('１　交付決定額等');
  pdf.fields([
    ['医療機関等名称', facilityName],
    ['医療機関等コード', c.facilityCode],
    ['交付決定日', jaDate(decidedOn)],
    ['補助対象経費', c.computed ? yen(c.computed.eligibleCostYen) : '—'],
    ['補助率・補助上限額', c.computed ? `${c.computed.rateText}（上限 ${yen(c.computed.capYen)}、${c.computed.table}）` : '—'],
    ['交付決定額', yen(approved)],
  ]);

  pdf.paragraph('２　補助対象経費の内訳');
  const counted = c.computed?.items ?? [];
  const rows = c.costItems.map((item, i) => {
    const note = item.excludedReason ? `対象外：${item.excludedReason}` : item.kind === 'reader' && (counted[i]?.countedYen ?? item.amountYen) < item.amountYen ? '1台99,000円を上限として算定' : '';
    return [String(i + 1), costKindLabels[item.kind] ?? item.kind, yen(item.amountYen), yen(counted[i]?.countedYen ?? 0), note];
  });
  const total = [
    '',
    '合計',
    yen(c.costItems.reduce((s, i) => s + i.amountYen, 0)),
    yen(counted.reduce((s, i) => s + i.countedYen, 0)),
    '',
  ];
  pdf.table([28, 160, 90, 90, pdf.width - 368], [...rows, total], { header: ['No.', '経費区分', '申請額', '補助対象額', '備考'], alignRight: [2, 3] });

  pdf.paragraph('３　交付の条件');
  for (const line of [
    '（１）補助事業者は、補助金の交付の目的に従い、善良な管理者の注意をもって補助事業により取得した財産を管理しなければならない。',
    '（２）補助事業者は、補助事業に係る経費の収支を明らかにした帳簿及び証拠書類を、補助事業の完了した日の属する年度の終了後5年間保存しなければならない。',
    '（３）偽りその他不正の手段により補助金の交付を受けたとき、又は補助金を他の用途に使用したときその他交付の条件に違反したときは、交付決定の全部又は一部を取り消すことがある。',
    '（４）交付決定を取り消した場合において、既に補助金が交付されているときは、期限を定めてその返還を命ずる。この場合、補助金の受領の日から返還の日までの日数に応じ、年3.0パーセントの割合で計算した加算金を併せて納付させる。',
    '（５）補助事業者は、消費税及び地方消費税の仕入控除税額が確定した場合には、速やかに報告しなければならない。',
  ]) {
    pdf.paragraph(line, 9.5);
  }
  pdf.gap(0.5).right('以上');
  return pdf.end();
}
