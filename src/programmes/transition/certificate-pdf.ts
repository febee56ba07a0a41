// One 資格確認書 (eligibility certificate) as a PDF for mailing to the member: the certificate's
// number, issue date and validity, the member's particulars as recorded on the issue date, and the
// insurer. The items follow the certificate's legal form (記号・番号・枝番, 氏名, 生年月日, 性別,
// 保険者番号及び名称, 交付年月日, 有効期限).

import { jaDate, PdfForm } from '../../platform/pdf.ts';
import type { CertificateRow } from './repository.ts';

export interface CertificatePdfInput {
  certificate: CertificateRow;
  member: { name: string; nameKana: string; birthDate: string; sex: string; symbol: string; number: string; branch: string; qualifiedFrom: string };
  insurer: { insurerNumber: string; name: string };
}

const sexJa = (sex: string) => (sex === 'male' ? '男' : sex === 'female' ? '女' : sex);

export async function renderCertificate({ certificate: c, member: m, insurer }: CertificatePdfInput): Promise<Buffer> {
  const pdf = new PdfForm({ title: '資格確認書', subject: `資格確認書 ${c.number}`, createdOn: c.issuedOn });
  pdf.right(`資格確認書番号　${c.number}`).gap(1);
  pdf.title('資格確認書');
  pdf.fields([
    ['記号・番号・枝番', `${m.symbol}・${m.number}・${m.branch}`],
    ['氏名', m.name],
    ['フリガナ', m.nameKana],
    ['生年月日', `${jaDate(m.birthDate)}（${m.birthDate}）`],
    ['性別', sexJa(m.sex)],
    ['資格取得年月日', jaDate(m.qualifiedFrom)],
    ['保険者番号', insurer.insurerNumber],
    ['保険者名称', insurer.name],
    ['交付年月日', jaDate(c.issuedOn)],
    ['有効期限', `${jaDate(c.validUntil)}まで`],
  ]);
  pdf.paragraph('注意事項', 11);
  for (const line of [
    '１　この資格確認書は、マイナンバーカードによるオンライン資格確認を受けることができない方に交付するものです。医療機関・薬局の窓口で提示してください。',
    '２　有効期限を過ぎたとき、又は被保険者の資格を喪失したときは、この資格確認書は使用できません。速やかに保険者に返納してください。',
    '３　記載事項に変更があったときは、保険者に届け出てください。',
  ]) {
    pdf.paragraph(line, 9.5);
  }
  pdf.gap(1).right(`保険者　${insurer.name}（${insurer.insurerNumber}）`);
  return pdf.end();
}
